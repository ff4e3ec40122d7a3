"""``vectors.npz``: the cached style vectors of a catalog, on disk and in a bucket.

Keys are ``f"{id}:{sha256(image)[:16]}:{backend fingerprint}"``, values float32 arrays.
"""
from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

VECTORS = "vectors.npz"


def load_vectors(source: Path | bytes) -> dict[str, np.ndarray]:
    """The vectors in a file or in its bytes; raises what `np.load` raises on bad data."""
    with np.load(io.BytesIO(source) if isinstance(source, bytes) else source,
                 allow_pickle=False) as data:
        return {k: np.asarray(data[k], dtype=np.float32) for k in data.files}


def read_vectors(path: Path) -> dict[str, np.ndarray]:
    """`load_vectors` for a cache file: missing or corrupt reads as empty (they are recomputed)."""
    try:
        return load_vectors(path)
    except FileNotFoundError:
        return {}
    except Exception as e:  # corrupt cache: recompute, never fail
        log.warning("ignoring unreadable style-vector cache %s: %s", path, e)
        return {}


def npz_bytes(vectors: dict[str, np.ndarray]) -> bytes:
    """Style vectors as the bytes of an .npz file (the on-disk and in-bucket format)."""
    buf = io.BytesIO()
    arrays: dict[str, Any] = dict(vectors)   # names, not savez's own keywords
    np.savez(buf, **arrays)
    return buf.getvalue()


__all__ = ["VECTORS", "load_vectors", "read_vectors", "npz_bytes"]
