"""Model development for libvenseg: everything that makes, checks or describes a model.

* ``weights``   numpy-only reader/writer of the .vseg weights file
* ``arch``      tensor names/shapes and BN folding per architecture (numpy only)
* ``reference`` PyTorch reference networks (torch)
* ``data``, ``augment``, ``train``  ``python -m venseg.toolkit.train`` (torch)
* ``pretrain``  self-supervised pretraining on unlabelled frames (torch)
* ``convert``   ``python -m venseg.toolkit.convert``: checkpoints -> .vseg (torch)
* ``evaluate``  ``python -m venseg.toolkit.evaluate``: score a model through libvenseg
* ``modelcard`` ``python -m venseg.toolkit.modelcard``: model cards and their check
* ``labelme``   LabelMe JSON -> label arrays: the one LabelMe rasteriser
* ``labelmap``  the label-map grammar (``artery=1,vein=2|V,...``), as the venseg program's

Images and label images are read by ``data.read_frame`` / ``read_image`` / ``read_label``.

The toolkit depends on the binding (``import venseg``); the binding never imports it.
torch comes with the ``train`` extra: ``pip install ./bindings/python[train]``.
"""
