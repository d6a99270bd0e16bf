"""Model development for libvenseg: everything that makes, checks or describes a model.

* ``weights``   numpy-only reader/writer of the .vseg weights file
* ``arch``      tensor names/shapes and BN folding per architecture (numpy only)
* ``reference`` PyTorch reference networks (torch)
* ``data``, ``augment``, ``train``  ``python -m venseg.toolkit.train`` (torch)
* ``pretrain``  self-supervised pretraining on unlabelled frames (torch)
* ``convert``   ``python -m venseg.toolkit.convert``: checkpoints -> .vseg (torch)
* ``evaluate``  ``python -m venseg.toolkit.evaluate``: score a model through libvenseg
* ``modelcard`` ``python -m venseg.toolkit.modelcard``: model cards and their check
* ``labelme``   LabelMe JSON -> label arrays

The toolkit depends on the binding (``import venseg``); the binding never imports it.
torch comes with the ``train`` extra: ``pip install ./bindings/python[train]``.
"""
