"""Training (PyTorch): the frozen base from its GGUF, per-example LoRA, and the trainers."""
