"""Inference backends: ``lite`` (ai-edge-litert, default) and ``hub`` (TensorFlow Hub)."""
from nst.backends.base import STYLE_SIDE, Backend, make_backend, prepare_style

__all__ = ["Backend", "make_backend", "prepare_style", "STYLE_SIDE"]
