"""`LocalCatalog`: presets in a folder with ``manifest.json`` and one image per preset.

The manifest's format is in `nst.catalog.manifest` (with the optional ``brush``: the
preset's default brush); entries that break its rules or whose image is missing are
skipped with a warning, so one bad upload does not take the whole catalog down.

Style vectors of presets are computed once and kept in ``vectors.npz``, keyed
``f"{id}:{sha256(image bytes)[:16]}:{backend.fingerprint}"`` — a changed image
or other weights simply miss the cache.  The file lives in ``cache_dir`` if
given, else in the folder itself, else (read-only folder) in ``~/.cache/nst``
or the temp dir; it is written atomically and merged with what is already
there, so catalogs may share one cache dir.  If nothing is writable the
vectors stay in memory.  A ``vectors.npz`` inside the folder itself (the codes that
ship with the presets, ``nst.catalog.shipped``) is read too when the cache lives
elsewhere, so a new instance finds every preset's code without computing it.  Codes
of a backend with ``persist_codes = False`` (``hub``: its codes are 256×256 images)
are cached in memory only.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from nst.catalog.base import Catalog, CatalogError, Preset
from nst.catalog.manifest import MANIFEST, entry_problem, read_manifest, to_preset
from nst.catalog.vectors import VECTORS, npz_bytes, read_vectors
from nst.errors import StyleNotFound
from nst.files import atomic_write

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from nst.backends.base import Backend

log = logging.getLogger(__name__)


def _writable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


class LocalCatalog(Catalog):
    """Presets in a local folder (the built-in ``nst/data/styles`` or a synced copy)."""

    def __init__(self, folder: str | os.PathLike, cache_dir: str | os.PathLike | None = None,
                 *, on_save: Callable[[], None] | None = None) -> None:
        """``on_save`` runs after each write of the vector file (GcsCatalog uploads it then)."""
        self.folder = Path(folder).expanduser()
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else None
        self.on_save = on_save
        self._lock = threading.RLock()
        self._presets: dict[str, Preset] = {}
        self._hashes: dict[str, tuple[tuple[int, int], str]] = {}  # id -> ((mtime_ns, size), sha16)
        self._vectors: dict[str, np.ndarray] | None = None         # loaded lazily
        self._memory_codes: dict[str, np.ndarray] = {}             # backends that don't persist
        self._shipped_codes: dict[str, np.ndarray] | None = None   # folder/vectors.npz, lazily
        self._vectors_path: Path | None = None
        self._persist = True
        self.reload()

    # --- manifest --------------------------------------------------------------------
    def reload(self) -> None:
        """Re-read manifest.json and vectors.npz (after the folder's content changed)."""
        path = self.folder / MANIFEST
        try:
            entries = read_manifest(self.folder)
        except FileNotFoundError:
            raise CatalogError(code="catalog_missing",
                               detail=f"style catalog {path} not found") from None
        except (OSError, ValueError) as e:
            raise CatalogError(code="catalog_invalid",
                               detail=f"style catalog {path} cannot be read: {e}") from None
        presets: dict[str, Preset] = {}
        for n, entry in enumerate(entries):
            problem = entry_problem(entry)
            if problem is not None:
                log.warning("%s: entry %d: %s, skipped", path, n, problem)
                continue
            preset = to_preset(entry)
            if preset.id in presets:
                log.warning("%s: duplicate preset id %r skipped", path, preset.id)
            elif not (self.folder / preset.filename).is_file():
                log.warning("%s: image %s of preset %r is missing, skipped", path, preset.filename, preset.id)
            else:
                presets[preset.id] = preset
        with self._lock:
            self._presets = presets
            self._hashes.clear()
            self._shipped_codes = None
            if self._persist:  # the file may have changed too (a sync merged it)
                self._vectors = None

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

    def _cache(self) -> dict[str, np.ndarray]:
        if self._vectors is None:
            self._vectors = read_vectors(self.vectors_path)
        return self._vectors

    def _shipped(self) -> dict[str, np.ndarray]:
        """The codes shipped in the folder, when the cache file lives elsewhere."""
        if self._shipped_codes is None:
            path = self.folder / VECTORS
            self._shipped_codes = read_vectors(path) if path != self.vectors_path else {}
        return self._shipped_codes

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
                if vec is None and persist:
                    vec = self._shipped().get(key)
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
        """Write the vector cache atomically (merged with entries others wrote), then `on_save`."""
        with self._lock:
            self._write_vectors()
            if self._persist and self.on_save is not None:
                self.on_save()

    def saved_vectors(self) -> dict[str, np.ndarray]:
        """What the vector file holds now."""
        with self._lock:
            return read_vectors(self.vectors_path)

    def add_vectors(self, extra: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Take vectors computed elsewhere (ours win), write the file; returns its content.

        Does not call `on_save`: the uploader calls this while it merges.
        """
        with self._lock:
            cache = self._cache()
            for k, v in extra.items():
                cache.setdefault(k, v)
            self._write_vectors()
            return read_vectors(self.vectors_path)

    def _write_vectors(self) -> None:
        if not self._persist:
            return
        path = self.vectors_path
        cache = self._cache()
        merged = read_vectors(path)
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


__all__ = ["LocalCatalog"]
