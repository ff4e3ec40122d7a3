"""Preset styles: a folder with ``manifest.json`` and one image per preset.

``manifest.json`` is a list (or ``{"presets": [...]}``) of objects with ``id``,
``title``, ``artist``, ``year`` and optionally ``file`` (default ``{id}.jpg``) and
``brush`` (the preset's default brush: bold, medium or fine);
other fields are ignored.  Entries whose image is missing are skipped with a
warning, so one bad upload does not take the whole catalog down.

Style vectors of presets are computed once and kept in ``vectors.npz``, keyed
``f"{id}:{sha256(image bytes)[:16]}:{backend.fingerprint}"`` — a changed image
or other weights simply miss the cache.  The file lives in ``cache_dir`` if
given, else in the folder itself, else (read-only folder) in ``~/.cache/nst``
or the temp dir; it is written atomically and merged with what is already
there, so catalogs may share one cache dir.  If nothing is writable the
vectors stay in memory.  Codes of a backend with ``persist_codes = False``
(``hub``: its codes are 256×256 images) are cached in memory only.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import tempfile
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nst.brush import BRUSHES
from nst.errors import NstError, StyleNotFound
from nst.files import atomic_write

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from nst.backends.base import Backend

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
VECTORS = "vectors.npz"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Preset:
    id: str
    title: str
    artist: str
    year: str
    filename: str
    #: The preset's default brush (bold | medium | fine); "" = the engine's default.
    brush: str = ""


class CatalogError(NstError):
    """The style catalog itself is unusable (missing folder, bad manifest)."""

    default_code = "catalog"
    default_message = "The style collection isn't available right now. Please try again later."


class Catalog(ABC):
    """Read-only collection of preset styles plus a cache of their style vectors."""

    @abstractmethod
    def presets(self) -> list[Preset]:
        """All presets, in catalog order."""

    def get(self, preset_id: str) -> Preset:
        for p in self.presets():
            if p.id == preset_id:
                return p
        raise StyleNotFound(detail=f"unknown preset {preset_id!r}")

    def __contains__(self, preset_id: object) -> bool:
        return any(p.id == preset_id for p in self.presets())

    @abstractmethod
    def image(self, preset_id: str) -> "Image.Image":
        """The preset's painting, RGB."""

    @abstractmethod
    def vector(self, preset_id: str, backend: "Backend") -> np.ndarray:
        """The preset's style code for ``backend`` (computed once, then cached)."""

    def vectors(self, backend: "Backend", ids: list[str] | None = None) -> dict[str, np.ndarray]:
        """Style codes of several presets (all by default)."""
        ids = [p.id for p in self.presets()] if ids is None else ids
        return {i: self.vector(i, backend) for i in ids}


def _writable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


class LocalCatalog(Catalog):
    """Presets in a local folder (the built-in ``nst/data/styles`` or a synced copy)."""

    def __init__(self, folder: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> None:
        self.folder = Path(folder).expanduser()
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else None
        self._lock = threading.RLock()
        self._presets: dict[str, Preset] = {}
        self._hashes: dict[str, tuple[tuple[int, int], str]] = {}  # id -> ((mtime_ns, size), sha16)
        self._vectors: dict[str, np.ndarray] | None = None         # loaded lazily
        self._memory_codes: dict[str, np.ndarray] = {}             # backends that don't persist
        self._vectors_path: Path | None = None
        self._persist = True
        self.reload()

    # --- manifest --------------------------------------------------------------------
    def reload(self) -> None:
        """Re-read manifest.json (after the folder's content changed)."""
        path = self.folder / MANIFEST
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CatalogError(code="catalog_missing",
                               detail=f"style catalog {path} not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CatalogError(code="catalog_invalid",
                               detail=f"style catalog {path} cannot be read: {e}") from None
        entries = raw.get("presets") if isinstance(raw, dict) else raw
        if not isinstance(entries, list):
            raise CatalogError(code="catalog_invalid",
                               detail=f"{path}: expected a list of presets")
        presets: dict[str, Preset] = {}
        for n, entry in enumerate(entries):
            preset = self._parse_entry(path, n, entry)
            if preset is None:
                continue
            if preset.id in presets:
                log.warning("%s: duplicate preset id %r skipped", path, preset.id)
                continue
            presets[preset.id] = preset
        with self._lock:
            self._presets = presets
            self._hashes.clear()

    def _parse_entry(self, path: Path, n: int, entry: object) -> Preset | None:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            log.warning("%s: entry %d has no id, skipped", path, n)
            return None
        pid = entry["id"]
        if not _ID_RE.match(pid):
            log.warning("%s: preset id %r is not [A-Za-z0-9_.-]{1,64}, skipped", path, pid)
            return None
        filename = entry.get("file") or f"{pid}.jpg"
        if (not isinstance(filename, str) or Path(filename).is_absolute()
                or ".." in Path(filename).parts or filename != Path(filename).as_posix()):
            log.warning("%s: preset %r has an unsafe file name %r, skipped", path, pid, filename)
            return None
        if not (self.folder / filename).is_file():
            log.warning("%s: image %s of preset %r is missing, skipped", path, filename, pid)
            return None
        year = entry.get("year", "")
        brush = entry.get("brush") or ""
        if brush not in ("", *BRUSHES):
            log.warning("%s: preset %r has an unknown brush %r, ignored", path, pid, brush)
            brush = ""
        return Preset(
            id=pid,
            title=str(entry.get("title") or pid),
            artist=str(entry.get("artist") or ""),
            year="" if year is None else str(year),
            filename=filename,
            brush=brush,
        )

    def presets(self) -> list[Preset]:
        with self._lock:
            return list(self._presets.values())

    def get(self, preset_id: str) -> Preset:
        with self._lock:
            preset = self._presets.get(preset_id) if isinstance(preset_id, str) else None
        if preset is None:
            raise StyleNotFound(detail=f"unknown preset {preset_id!r}")
        return preset

    def __contains__(self, preset_id: object) -> bool:
        with self._lock:
            return preset_id in self._presets

    def image_path(self, preset_id: str) -> Path:
        return self.folder / self.get(preset_id).filename

    def image(self, preset_id: str) -> "Image.Image":
        from nst.images import load_image

        return load_image(self.image_path(preset_id))

    def image_hash(self, preset_id: str) -> str:
        """sha256[:16] of the image file (re-hashed when its size or mtime change)."""
        path = self.image_path(preset_id)
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            memo = self._hashes.get(preset_id)
            if memo is not None and memo[0] == stamp:
                return memo[1]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        with self._lock:
            self._hashes[preset_id] = (stamp, digest)
        return digest

    # --- vector cache ----------------------------------------------------------------
    @property
    def vectors_path(self) -> Path:
        """Where vectors.npz is kept (see the module docstring for the order)."""
        if self._vectors_path is None:
            if self.cache_dir is not None and _writable_dir(self.cache_dir):
                self._vectors_path = self.cache_dir / VECTORS
            elif _writable_dir(self.folder):
                self._vectors_path = self.folder / VECTORS
            else:
                tag = hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:12]
                for base in (Path.home() / ".cache" / "nst", Path(tempfile.gettempdir()) / "nst-cache"):
                    if _writable_dir(base):
                        self._vectors_path = base / f"vectors-{tag}.npz"
                        break
                else:
                    self._vectors_path = self.folder / VECTORS  # read-only: memory only
        return self._vectors_path

    @staticmethod
    def _read_npz(path: Path) -> dict[str, np.ndarray]:
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: np.asarray(data[k], dtype=np.float32) for k in data.files}
        except FileNotFoundError:
            return {}
        except Exception as e:  # corrupt cache: recompute, never fail
            log.warning("ignoring unreadable style-vector cache %s: %s", path, e)
            return {}

    def _cache(self) -> dict[str, np.ndarray]:
        if self._vectors is None:
            self._vectors = self._read_npz(self.vectors_path)
        return self._vectors

    def vector_key(self, preset_id: str, backend: "Backend") -> str:
        return f"{preset_id}:{self.image_hash(preset_id)}:{backend.fingerprint}"

    def _compute(self, preset_id: str, backend: "Backend", key: str) -> np.ndarray:
        from nst.backends.base import prepare_style

        vec = np.asarray(backend.style_vector(prepare_style(self.image(preset_id))), dtype=np.float32)
        vec.setflags(write=False)
        cache = self._cache() if getattr(backend, "persist_codes", True) else self._memory_codes
        fp = key.rsplit(":", 1)[1]
        for stale in [k for k in cache if k.startswith(f"{preset_id}:") and k.endswith(f":{fp}")]:
            del cache[stale]
        cache[key] = vec
        return vec

    def vector(self, preset_id: str, backend: "Backend") -> np.ndarray:
        return self.vectors(backend, [preset_id])[preset_id]

    def vectors(self, backend: "Backend", ids: list[str] | None = None) -> dict[str, np.ndarray]:
        with self._lock:
            ids = list(self._presets) if ids is None else ids
            out: dict[str, np.ndarray] = {}
            changed = False
            persist = getattr(backend, "persist_codes", True)
            for pid in ids:
                key = self.vector_key(pid, backend)   # raises StyleNotFound
                vec = (self._cache() if persist else self._memory_codes).get(key)
                if vec is None:
                    vec = self._compute(pid, backend, key)
                    changed = changed or persist
                elif vec.flags.writeable:
                    vec.setflags(write=False)
                out[pid] = vec
            if changed:
                self.save_vectors()
            return out

    def save_vectors(self) -> None:
        """Write the vector cache atomically (merged with entries others wrote).

        Subclasses (GcsCatalog) extend this to upload the file as well.
        """
        with self._lock:
            if not self._persist:
                return
            path = self.vectors_path
            cache = self._cache()
            merged = self._read_npz(path)
            for key in list(merged):   # drop the file's copies of our stale keys
                pid, fp = key.split(":", 1)[0], key.rsplit(":", 1)[-1]
                if pid in self._presets and key not in cache and any(
                        k.startswith(f"{pid}:") and k.endswith(f":{fp}") for k in cache):
                    del merged[key]
            merged.update(cache)
            try:
                atomic_write(path, npz_bytes(merged))
            except OSError as e:
                log.warning("style vectors kept in memory only: cannot write %s: %s", path, e)
                self._persist = False


def npz_bytes(vectors: dict[str, np.ndarray]) -> bytes:
    """Style vectors as the bytes of an .npz file (the on-disk and in-bucket format)."""
    buf = io.BytesIO()
    np.savez(buf, **vectors)
    return buf.getvalue()


def open_catalog(spec: str | os.PathLike, cache_dir: Path | None = None) -> Catalog:
    """A catalog from a folder path or ``gs://bucket/prefix``."""
    text = os.fspath(spec)
    if text.startswith("gs://"):
        from nst.gcs_catalog import GcsCatalog

        return GcsCatalog(text, cache_dir)
    folder = Path(text).expanduser()
    if not folder.is_dir():
        raise CatalogError(code="catalog_missing", detail=f"style catalog folder {folder} not found")
    return LocalCatalog(folder, cache_dir)


__all__ = ["Preset", "Catalog", "LocalCatalog", "CatalogError", "open_catalog", "MANIFEST", "VECTORS"]
