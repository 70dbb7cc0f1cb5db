"""PyTorch side of the T2L hypernetwork (training and export only; the runtime uses ONNX)."""
