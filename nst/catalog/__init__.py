"""Preset style catalogs and `open_catalog`, the factory that picks one.

Modules: ``base`` (Preset, Catalog, CatalogError), ``manifest`` (manifest.json),
``vectors`` (vectors.npz), ``local`` (LocalCatalog: a folder), ``mirror`` (a folder
kept equal to a bucket), ``gcs`` (GcsCatalog: LocalCatalog over a mirror),
``push`` (``python -m nst styles push``). The GCS modules are imported only for
``gs://`` specs, so google-cloud-storage stays optional.
"""
from __future__ import annotations

import os
from pathlib import Path

from nst.catalog.base import Catalog, CatalogError, Preset
from nst.catalog.local import LocalCatalog
from nst.catalog.manifest import MANIFEST
from nst.catalog.vectors import VECTORS


def open_catalog(spec: str | os.PathLike, cache_dir: Path | None = None) -> Catalog:
    """A catalog from a folder path or ``gs://bucket/prefix``."""
    text = os.fspath(spec)
    if text.startswith("gs://"):
        from nst.catalog.gcs import GcsCatalog

        return GcsCatalog(text, cache_dir)
    folder = Path(text).expanduser()
    if not folder.is_dir():
        raise CatalogError(code="catalog_missing", detail=f"style catalog folder {folder} not found")
    return LocalCatalog(folder, cache_dir)


__all__ = ["Preset", "Catalog", "LocalCatalog", "CatalogError", "open_catalog", "MANIFEST", "VECTORS"]
