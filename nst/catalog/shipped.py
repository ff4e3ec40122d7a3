"""The style codes that ship with a preset folder (``<folder>/vectors.npz``).

A new instance should paint its first picture without computing 18 style codes, so
the codes of every preset are computed once, at build time, for each backend that
keeps codes (``python -m nst styles vectors``; ``styles push`` refreshes them before
it uploads the folder). Keys are a catalog's own (``id:image sha:fingerprint``), so a
changed painting or other predictor weights simply miss and are recomputed; the file
is rewritten only when its keys differ from the wanted ones, and it holds exactly
those (no stale codes pile up). ``LocalCatalog`` reads it beside its own cache.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nst.backends import make_backend
from nst.backends.base import Backend, prepare_style
from nst.config import BACKENDS, EngineConfig
from nst.catalog.local import LocalCatalog
from nst.catalog.vectors import VECTORS, npz_bytes, read_vectors
from nst.files import atomic_write

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShippedVectors:
    """What `refresh_shipped_vectors` did: codes computed, kept, and whether it wrote."""

    computed: int
    kept: int
    written: bool
    path: Path


def shipping_backends(config: EngineConfig | None = None) -> list[Backend]:
    """One backend of each kind whose codes are kept (openvino, lite), built with
    ``config``'s model files: the codes every deployment may ask for."""
    config = config or EngineConfig()
    backends = [make_backend(EngineConfig(backend=name, model_dir=config.model_dir))
                for name in BACKENDS if name != "hub"]   # hub's codes are images: never kept
    return [b for b in backends if b.persist_codes]


def refresh_shipped_vectors(folder: Path, backends: Sequence[Backend]) -> ShippedVectors:
    """Bring ``folder/vectors.npz`` up to date for ``backends`` (those with
    ``persist_codes``): compute only the codes whose key is missing; write the file
    only when its keys change. Raises OSError when the folder is not writable."""
    folder = Path(folder)
    catalog = LocalCatalog(folder, cache_dir=folder)
    path = folder / VECTORS
    old = read_vectors(path)
    new: dict[str, np.ndarray] = {}
    computed = 0
    for backend in backends:
        if not backend.persist_codes:
            continue
        for preset in catalog.presets():
            key = catalog.vector_key(preset.id, backend)
            if key in old:
                new[key] = old[key]
                continue
            style = prepare_style(catalog.image(preset.id))
            new[key] = np.asarray(backend.style_vector(style), dtype=np.float32).reshape(-1)
            computed += 1
    written = set(new) != set(old)
    if written:
        atomic_write(path, npz_bytes(new))
        log.info("%s: %d style codes (%d computed)", path, len(new), computed)
    return ShippedVectors(computed, len(new) - computed, written, path)


__all__ = ["ShippedVectors", "refresh_shipped_vectors", "shipping_backends"]
