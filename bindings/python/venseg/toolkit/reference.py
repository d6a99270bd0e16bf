"""PyTorch reference networks whose ``state_dict()`` names are the .vseg tensor names.

* ``ResNetUnet``: UNet with a ResNet18/34/50 encoder, either
  - ``encoder_style="torchvision"``: post-activation torchvision ResNet as in
    segmentation_models_pytorch (for the ``upsample`` decoder it computes exactly what
    ``smp.Unet`` computes; the parity tests use smp itself for that combination), or
  - ``encoder_style="keras"``: the pre-activation ResNet of qubvel/classification_models
    as used by the Keras ``segmentation_models.Unet`` (bn_data without gamma, 7x7/2 conv0
    with symmetric zero pad 3, bn0, relu0, zero pad 1 + 3x3/2 max-pool; units
    BN-ReLU pre-activation, 1x1 ``sc`` shortcut on the pre-activated tensor in unit 1 of
    every stage, raw identity otherwise, nothing after the add; final bn1 + relu;
    skips relu0 and stage{2,3,4}_unit1_relu1);
  with the decoder ``upsample`` (nearest x2, concat [x, skip], N x conv3x3-BN-ReLU) or
  ``transpose`` (ConvTranspose 4x4/2 pad 1 no bias + BN + ReLU, concat, N convs), and a
  ``head_kernel_size`` conv with bias (``segmentation_head.0``).
* ``PlainUnet``: Ronneberger's UNet with same padding and BN.

``forward`` returns logits (no activation). ``model.vseg_metadata()`` gives the
architecture metadata keys of docs/weights-format.md.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .arch import BOTTLENECK, DEFAULT_DECODER_CHANNELS, RESNET_UNITS, encoder_channels


class BatchNormNoScale(nn.BatchNorm2d):
    """BatchNorm2d without gamma (Keras ``scale=False``): tensors bias, running_*."""

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__(num_features, eps=eps, affine=True)
        del self.weight
        self.register_parameter("weight", None)


# ----------------------------------------------------------- keras encoder

class KerasResNetEncoder(nn.Module):
    """classification_models pre-activation ResNet; attribute names = Keras layer names."""

    def __init__(self, name: str = "resnet34", in_channels: int = 3, eps: float = 2e-5):
        super().__init__()
        self.units = RESNET_UNITS[name]
        self.bottleneck = BOTTLENECK[name]
        e = 4 if self.bottleneck else 1
        self.bn_data = BatchNormNoScale(in_channels, eps=eps)
        self.conv0 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=0, bias=False)
        self.bn0 = nn.BatchNorm2d(64, eps=eps)
        inplanes = 64
        for s in range(1, 5):
            f = 64 * 2 ** (s - 1)
            for u in range(1, self.units[s - 1] + 1):
                p = f"stage{s}_unit{u}_"
                stride = 2 if (u == 1 and s > 1) else 1
                setattr(self, p + "bn1", nn.BatchNorm2d(inplanes, eps=eps))
                if self.bottleneck:
                    setattr(self, p + "conv1", nn.Conv2d(inplanes, f, 1, bias=False))
                    setattr(self, p + "bn2", nn.BatchNorm2d(f, eps=eps))
                    setattr(self, p + "conv2", nn.Conv2d(f, f, 3, stride=stride, bias=False))
                    setattr(self, p + "bn3", nn.BatchNorm2d(f, eps=eps))
                    setattr(self, p + "conv3", nn.Conv2d(f, f * e, 1, bias=False))
                else:
                    setattr(self, p + "conv1", nn.Conv2d(inplanes, f, 3, stride=stride, bias=False))
                    setattr(self, p + "bn2", nn.BatchNorm2d(f, eps=eps))
                    setattr(self, p + "conv2", nn.Conv2d(f, f, 3, bias=False))
                if u == 1:
                    setattr(self, p + "sc", nn.Conv2d(inplanes, f * e, 1, stride=stride, bias=False))
                inplanes = f * e
        self.bn1 = nn.BatchNorm2d(inplanes, eps=eps)

    @staticmethod
    def _pad(x: torch.Tensor, p: int) -> torch.Tensor:
        return F.pad(x, (p, p, p, p))  # ZeroPadding2D: symmetric zeros

    def _unit(self, x: torch.Tensor, s: int, u: int):
        p = f"stage{s}_unit{u}_"
        g = lambda n: getattr(self, p + n)  # noqa: E731
        t = F.relu(g("bn1")(x))
        shortcut = g("sc")(t) if u == 1 else x
        if self.bottleneck:
            y = F.relu(g("bn2")(g("conv1")(t)))
            y = F.relu(g("bn3")(g("conv2")(self._pad(y, 1))))
            y = g("conv3")(y)
        else:
            y = F.relu(g("bn2")(g("conv1")(self._pad(t, 1))))
            y = g("conv2")(self._pad(y, 1))
        return y + shortcut, t

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """[relu0 (x2), stage2_unit1_relu1 (x4), stage3.. (x8), stage4.. (x16), relu1 (x32)]"""
        x = self.bn_data(x)
        x = F.relu(self.bn0(self.conv0(self._pad(x, 3))))
        feats = [x]
        x = F.max_pool2d(self._pad(x, 1), 3, stride=2)
        for s in range(1, 5):
            for u in range(1, self.units[s - 1] + 1):
                x, t = self._unit(x, s, u)
                if u == 1 and s > 1:
                    feats.append(t)
        feats.append(F.relu(self.bn1(x)))
        return feats


# ------------------------------------------------------ torchvision encoder

class TorchvisionResNetEncoder(nn.Module):
    """torchvision ResNet without avgpool/fc; names conv1, bn1, layer1..4 (as smp)."""

    def __init__(self, name: str = "resnet34", in_channels: int = 3, eps: float = 1e-5):
        super().__init__()
        import torchvision

        net = getattr(torchvision.models, name)(weights=None)
        self.conv1 = net.conv1 if in_channels == 3 else nn.Conv2d(
            in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1, self.relu, self.maxpool = net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = (
            net.layer1, net.layer2, net.layer3, net.layer4)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eps = eps

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        x = self.relu(self.bn1(self.conv1(x)))
        feats = [x]
        x = self.maxpool(x)
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            feats.append(x)
        return feats


# ------------------------------------------------------------------ decoder

def _conv_bn_relu(cin: int, cout: int, eps: float) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                         nn.BatchNorm2d(cout, eps=eps), nn.ReLU())


class DecoderBlock(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int, block: str, convs: int, eps: float):
        super().__init__()
        self.block = block
        if block == "transpose":
            self.up = nn.Sequential(
                nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(cout, eps=eps), nn.ReLU())
            cin = cout
        elif block != "upsample":
            raise ValueError(f"decoder block {block!r}")
        self.conv1 = _conv_bn_relu(cin + cskip, cout, eps)
        self.conv2 = _conv_bn_relu(cout, cout, eps) if convs == 2 else None

    def forward(self, x: torch.Tensor, skip: Optional[torch.Tensor]) -> torch.Tensor:
        if self.block == "transpose":
            x = self.up(x)
        else:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        x = self.conv1(x)
        if self.conv2 is not None:
            x = self.conv2(x)
        return x


class UnetDecoder(nn.Module):
    def __init__(self, enc_channels: Sequence[int], channels: Sequence[int], block: str,
                 convs: int, eps: float):
        super().__init__()
        skips = [enc_channels[3], enc_channels[2], enc_channels[1], enc_channels[0], 0]
        ins = [enc_channels[4]] + list(channels[:-1])
        self.blocks = nn.ModuleList(
            DecoderBlock(ins[i], skips[i], channels[i], block, convs, eps) for i in range(5))

    def forward(self, feats: List[torch.Tensor]) -> torch.Tensor:
        x = feats[4]
        skips = [feats[3], feats[2], feats[1], feats[0], None]
        for blk, s in zip(self.blocks, skips):
            x = blk(x, s)
        return x


class ResNetUnet(nn.Module):
    def __init__(self, encoder_name: str = "resnet34", encoder_style: str = "keras",
                 decoder_block: str = "upsample",
                 decoder_channels: Sequence[int] = DEFAULT_DECODER_CHANNELS,
                 convs_per_block: Optional[int] = None, classes: int = 2,
                 in_channels: int = 3, encoder_bn_eps: Optional[float] = None,
                 decoder_bn_eps: Optional[float] = None, head_kernel_size: int = 3):
        super().__init__()
        tv = encoder_style == "torchvision"
        if encoder_style not in ("torchvision", "keras"):
            raise ValueError(f"encoder_style {encoder_style!r}")
        if convs_per_block is None:
            convs_per_block = 2 if decoder_block == "upsample" else 1
        self.cfg = dict(
            encoder_name=encoder_name, encoder_style=encoder_style, decoder_block=decoder_block,
            decoder_channels=[int(c) for c in decoder_channels], convs_per_block=convs_per_block,
            classes=classes, in_channels=in_channels,
            encoder_bn_eps=encoder_bn_eps if encoder_bn_eps is not None else (1e-5 if tv else 2e-5),
            decoder_bn_eps=decoder_bn_eps if decoder_bn_eps is not None else (1e-5 if tv else 1e-3),
            head_kernel_size=head_kernel_size)
        c = self.cfg
        enc_cls = TorchvisionResNetEncoder if tv else KerasResNetEncoder
        self.encoder = enc_cls(encoder_name, in_channels, c["encoder_bn_eps"])
        self.decoder = UnetDecoder(encoder_channels(encoder_name), c["decoder_channels"],
                                   decoder_block, convs_per_block, c["decoder_bn_eps"])
        self.segmentation_head = nn.Sequential(
            nn.Conv2d(c["decoder_channels"][-1], classes, head_kernel_size,
                      padding=head_kernel_size // 2, bias=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.segmentation_head(self.decoder(self.encoder(x)))

    def vseg_metadata(self) -> Dict[str, object]:
        c = self.cfg
        return {
            "general.architecture": "resnet_unet",
            "encoder.name": c["encoder_name"],
            "encoder.style": c["encoder_style"],
            "encoder.bn_eps": float(c["encoder_bn_eps"]),
            "decoder.block": c["decoder_block"],
            "decoder.channels": list(c["decoder_channels"]),
            "decoder.convs_per_block": int(c["convs_per_block"]),
            "decoder.bn_eps": float(c["decoder_bn_eps"]),
            "head.kernel_size": int(c["head_kernel_size"]),
        }


# --------------------------------------------------------------- plain UNet

class _DoubleConv(nn.Module):
    def __init__(self, cin: int, cout: int, eps: float):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(x)))


class PlainUnet(nn.Module):
    """enc{d} (d = 0..depth; max-pool 2x2 before d > 0), up{d} ConvTranspose 2x2/2 with
    bias, concat [up, enc d], dec{d}, 1x1 head with bias."""

    def __init__(self, in_channels: int = 1, classes: int = 2, base_channels: int = 64,
                 depth: int = 4, bn_eps: float = 1e-5):
        super().__init__()
        self.cfg = dict(in_channels=in_channels, classes=classes, base_channels=base_channels,
                        depth=depth, bn_eps=bn_eps)
        c = [base_channels * 2 ** d for d in range(depth + 1)]
        self.depth = depth
        for d in range(depth + 1):
            setattr(self, f"enc{d}", _DoubleConv(in_channels if d == 0 else c[d - 1], c[d], bn_eps))
        for d in range(depth - 1, -1, -1):
            setattr(self, f"up{d}", nn.ConvTranspose2d(c[d + 1], c[d], 2, stride=2, bias=True))
            setattr(self, f"dec{d}", _DoubleConv(2 * c[d], c[d], bn_eps))
        self.head = nn.Conv2d(c[0], classes, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for d in range(self.depth + 1):
            if d > 0:
                x = F.max_pool2d(x, 2)
            x = getattr(self, f"enc{d}")(x)
            skips.append(x)
        for d in range(self.depth - 1, -1, -1):
            x = getattr(self, f"up{d}")(x)
            x = getattr(self, f"dec{d}")(torch.cat([x, skips[d]], dim=1))
        return self.head(x)

    def vseg_metadata(self) -> Dict[str, object]:
        c = self.cfg
        return {
            "general.architecture": "plain_unet",
            "plain_unet.base_channels": int(c["base_channels"]),
            "plain_unet.depth": int(c["depth"]),
            "plain_unet.bn_eps": float(c["bn_eps"]),
        }


def smp_unet_metadata(model: nn.Module, encoder_name: str) -> Dict[str, object]:
    """Architecture metadata of an ``smp.Unet`` with a ResNet encoder."""
    blocks = model.decoder.blocks
    ch = [int(b.conv1[0].out_channels) for b in blocks]
    head = model.segmentation_head[0]
    return {
        "general.architecture": "resnet_unet",
        "encoder.name": encoder_name,
        "encoder.style": "torchvision",
        "encoder.bn_eps": 1e-5,
        "decoder.block": "upsample",
        "decoder.channels": ch,
        "decoder.convs_per_block": 2,
        "decoder.bn_eps": 1e-5,
        "head.kernel_size": int(head.kernel_size[0]),
    }


def state_dict_numpy(model: nn.Module) -> "Dict[str, object]":
    """state_dict as float32 numpy arrays without ``num_batches_tracked``."""
    from collections import OrderedDict

    out = OrderedDict()
    for k, v in model.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        out[k] = v.detach().cpu().float().numpy().copy()
    return out


def load_numpy_state(model: nn.Module, tensors) -> None:
    """Load float32 numpy tensors (e.g. dequantised weights read back) into a model."""
    sd = model.state_dict()
    new = {}
    for k, v in sd.items():
        if k in tensors:
            new[k] = torch.as_tensor(tensors[k]).to(v.dtype).reshape(v.shape)
        else:
            new[k] = v
    model.load_state_dict(new, strict=True)
