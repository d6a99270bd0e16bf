"""libvenseg Python package.

* ``venseg.weights``  - numpy-only reader/writer of the .vseg weights file
* ``venseg.arch``     - tensor names/shapes and BN folding per architecture (numpy only)
* ``venseg.reference``- PyTorch reference networks (needs torch)
* ``venseg.convert``  - ``python -m venseg.convert``: checkpoints -> .vseg (needs torch)
* ``venseg._native``  - small ctypes binding of libvenseg (Model, Session, metrics)
* ``venseg.evaluate`` - ``python -m venseg.evaluate``: score a model on labelled images

Importing ``venseg`` does not import torch.
"""

from .weights import VsegError, VsegFile, read_vseg, write_vseg, build_vseg  # noqa: F401

__version__ = "0.1.0"
