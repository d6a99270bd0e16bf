"""``python -m venseg.convert``: the model converter, ``venseg.toolkit.convert`` (checkpoints,
seeded random models, ``--to-onnx`` / ``--from-onnx``; docs/onnx.md).

Only a forwarder run as a program: importing it imports nothing, so ``import venseg``
stays free of torch and onnx.
"""

if __name__ == "__main__":
    import sys

    from venseg.toolkit.convert import main

    sys.exit(main())
