"""t2l-edge: Text-to-LoRA hypernetworks for llama.cpp on the edge."""

__version__ = "0.1.0"
GENERATOR_NAME = f"t2l-edge {__version__}"
