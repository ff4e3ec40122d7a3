"""nst — arbitrary neural style transfer (Magenta's TFLite models on OpenVINO or LiteRT).

Importing ``nst`` is cheap: the names below are resolved on first use, and no
model is loaded until ``Engine.warmup()`` or the first ``stylize``.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

_EXPORTS = {
    "Engine": "nst.engine",
    "StyleOptions": "nst.engine",
    "OptionError": "nst.engine",
    "EngineConfig": "nst.config",
    "load_image": "nst.images",
    "encode_image": "nst.images",
    "fit_max_side": "nst.images",
    "NstError": "nst.errors",
    "ImageError": "nst.errors",
    "StyleNotFound": "nst.errors",
    "ModelError": "nst.errors",
    "Preset": "nst.catalog",
    "Catalog": "nst.catalog",
    "LocalCatalog": "nst.catalog",
    "open_catalog": "nst.catalog",
    "Backend": "nst.backends.base",
    "make_backend": "nst.backends",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nst' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from nst.backends import make_backend
    from nst.backends.base import Backend
    from nst.catalog import Catalog, LocalCatalog, Preset, open_catalog
    from nst.config import EngineConfig
    from nst.engine import Engine, OptionError, StyleOptions
    from nst.errors import ImageError, ModelError, NstError, StyleNotFound
    from nst.images import encode_image, fit_max_side, load_image
