"""Training: models, losses, trainer and ONNX export (needs the ``[train]`` extra)."""
