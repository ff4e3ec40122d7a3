"""Inference backends and the one place that builds them.

``openvino`` (OpenVINO on the CPU, default), ``lite`` (ai-edge-litert: the
fallback where OpenVINO has no wheels) and ``hub`` (TensorFlow Hub).  The
registry lives here, apart from ``base.Backend``, so the interface never
imports its own implementations; each runtime is imported only when its
backend is built.
"""
from __future__ import annotations

import importlib

from nst.backends.base import STYLE_SIDE, Backend, prepare_style
from nst.config import BACKENDS, EngineConfig

#: NST_BACKEND value → (module, class); every value in nst.config.BACKENDS has one.
REGISTRY: dict[str, tuple[str, str]] = {
    "openvino": ("nst.backends.openvino", "OpenVinoBackend"),
    "lite": ("nst.backends.lite", "LiteBackend"),
    "hub": ("nst.backends.hub", "HubBackend"),
}
assert set(REGISTRY) == set(BACKENDS)


def make_backend(config: EngineConfig) -> Backend:
    """The backend named by ``config.backend`` (cheap: models load lazily)."""
    entry = REGISTRY.get(config.backend)
    if entry is None:
        raise ValueError(f"unknown backend {config.backend!r} (expected one of {', '.join(BACKENDS)})")
    module, cls = entry
    return getattr(importlib.import_module(module), cls)(config)


__all__ = ["REGISTRY", "STYLE_SIDE", "Backend", "make_backend", "prepare_style"]
