"""The label-map grammar: which label values and LabelMe labels are which vessel class.

One grammar for every tool, the same as the venseg program's ``--label-map``
(examples/venseg/util/labelmap.h)::

    artery=1,vein=2|V,vessel=3,ignore=4|5|nerve

``CLASS=TOKEN[|TOKEN...]`` items, comma separated, spaces around items and tokens ignored.
Classes (case-insensitive): ``background``, ``artery``, ``vein``, ``vessel`` (artery or vein,
class unknown), ``ignore``. A token is a label value 0..255 (of a label PNG) or a LabelMe
label (exact text). A value or label may belong to one class only; a class named in the map
(other than background) is *supervised*. Values not in the map are background.

Class codes (``LabelMap.lut[value]``, ``LabelMap.name_code(label)``)::

    BACKGROUND 0, ARTERY 1, VEIN 2, VESSEL 3, IGNORE 4

``guess_code(label)`` names the class of a free-text LabelMe label when no map is given
(training data: "A. femoralis" -> artery, "V. poplitea" -> vein, ...). Pure Python + numpy.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np

BACKGROUND, ARTERY, VEIN, VESSEL, IGNORE = 0, 1, 2, 3, 4
CODE_NAMES = ("background", "artery", "vein", "vessel", "ignore")

__all__ = ["BACKGROUND", "ARTERY", "VEIN", "VESSEL", "IGNORE", "CODE_NAMES", "LabelMapError", "LabelMap",
           "class_code", "guess_code"]


class LabelMapError(ValueError):
    """A label map that does not follow the grammar."""


def class_code(name: str) -> Optional[int]:
    """The code of a class name (case-insensitive), None for another word."""
    n = name.lower()
    return CODE_NAMES.index(n) if n in CODE_NAMES else None


def _is_value(tok: str) -> bool:
    return tok.isdigit() and tok.isascii()


class LabelMap:
    """A parsed label map: ``lut`` (uint8[256], label value -> class code), ``supervised``
    (per code: named in the map; background never), ``names`` (LabelMe label -> code)."""

    def __init__(self, text: str):
        self.text = text
        self.lut = np.zeros(256, np.uint8)
        self.supervised: List[bool] = [False] * len(CODE_NAMES)
        self.names: Dict[str, int] = {}
        assigned: Dict[int, int] = {}
        for item in text.split(","):
            item = item.strip()
            if not item:
                continue
            if "=" not in item:
                raise LabelMapError(f"label map item '{item}' is not CLASS=VALUE[|VALUE...]")
            key, tokens = (s.strip() for s in item.split("=", 1))
            code = class_code(key)
            if code is None:
                raise LabelMapError(f"unknown class '{key}' in the label map "
                                    "(artery, vein, vessel, ignore, background)")
            if not tokens:
                raise LabelMapError(f"class '{key}' has no value in the label map")
            self.supervised[code] = code != BACKGROUND
            for tok in tokens.split("|"):
                tok = tok.strip()
                if not tok:
                    continue
                if _is_value(tok):
                    v = int(tok)
                    if v > 255:
                        raise LabelMapError(f"label value {v} out of range 0..255")
                    if v in assigned and assigned[v] != code:
                        raise LabelMapError(f"label value {v} is mapped to two classes")
                    assigned[v] = code
                    self.lut[v] = code
                elif tok[0] in "0123456789-+":
                    raise LabelMapError(f"bad label value '{tok}' (0..255)")
                else:
                    known = self.name_code(tok)
                    if known is not None and known != code:
                        raise LabelMapError(f"label '{tok}' is mapped to two classes")
                    self.names.setdefault(tok, code)

    def __repr__(self) -> str:
        return f"LabelMap({self.text!r})"

    def codes(self, labels: np.ndarray) -> np.ndarray:
        """Class codes (uint8) of a label image."""
        return self.lut[np.asarray(labels, np.uint8)]

    def name_code(self, label: str) -> Optional[int]:
        """Code of a LabelMe label: a token of the map (exact), a class name
        (case-insensitive), or a mapped label value written as text; None if unknown."""
        if label in self.names:
            return self.names[label]
        code = class_code(label)
        if code is not None:
            return code
        if _is_value(label):
            v = int(label)
            if v <= 255 and (self.lut[v] != BACKGROUND or v == 0):
                return int(self.lut[v])
        return None


def guess_code(label: str) -> int:
    """Class code of a free-text LabelMe label without a map (case-insensitive): containing
    "arter" -> artery; "vein" / "vena" / "vene" -> vein; "vessel" -> vessel; exactly
    "ignore" / "unsure" / "unknown" / "__ignore__" -> ignore; anything else (nerve, muscle,
    ...) -> background."""
    s = label.strip().lower()
    if "arter" in s:
        return ARTERY
    if "vein" in s or "vena" in s or "vene" in s:
        return VEIN
    if "vessel" in s:
        return VESSEL
    if s in ("ignore", "unsure", "unknown", "__ignore__"):
        return IGNORE
    return BACKGROUND
