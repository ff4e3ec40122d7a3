"""Preset styles kept in Google Cloud Storage (``STYLES=gs://bucket/prefix``).

The bucket holds the same files as a local catalog folder::

    gs://bucket/prefix/manifest.json
    gs://bucket/prefix/<id>.jpg …          (or each entry's "file")
    gs://bucket/prefix/vectors.npz         (optional: cached style vectors)

`GcsCatalog` is built from two parts: a `BucketMirror` keeps a local folder equal to
the bucket, and a `LocalCatalog` serves that folder. The catalog's ``on_save`` hook
uploads ``vectors.npz`` after each local write (merged with what other instances
uploaded meanwhile, ``ifGenerationMatch`` so no one loses vectors) — best effort:
failures are logged, never raised.

Bucket unreachable at start: with a previous local copy the catalog logs a warning and
serves it (cached presets keep working); without one it raises `CatalogError`.
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nst.catalog.base import Catalog, Preset
from nst.catalog.local import LocalCatalog
from nst.catalog.mirror import BucketMirror
from nst.catalog.vectors import VECTORS, load_vectors, npz_bytes

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from PIL import Image

    from nst.backends.base import Backend

log = logging.getLogger(__name__)


class GcsCatalog(Catalog):
    """A `LocalCatalog` over a `BucketMirror` of ``gs://bucket/prefix``."""

    def __init__(
        self,
        url: str,
        cache_dir: str | os.PathLike | None = None,
        *,
        client: Any | None = None,
        timeout: float = 30.0,
        retry_deadline: float = 20.0,
    ) -> None:
        root = Path(cache_dir).expanduser() if cache_dir is not None else Path(tempfile.gettempdir())
        self.mirror = BucketMirror(url, root, client=client, timeout=timeout,
                                   retry_deadline=retry_deadline)
        self.url = url
        self.local_folder = self.mirror.local_folder
        self._upload_state = threading.Lock()
        self._upload_pending = False
        self._upload_thread: threading.Thread | None = None
        self.mirror.sync()
        # vectors.npz next to the synced images, so the mirror syncs it too
        self.local = LocalCatalog(self.local_folder, cache_dir=self.local_folder,
                                  on_save=self._schedule_upload)

    # --- Catalog: served by the local copy --------------------------------------------
    def presets(self) -> list[Preset]:
        return self.local.presets()

    def get(self, preset_id: str) -> Preset:
        return self.local.get(preset_id)

    def __contains__(self, preset_id: object) -> bool:
        return preset_id in self.local

    def image(self, preset_id: str) -> "Image.Image":
        return self.local.image(preset_id)

    def vector(self, preset_id: str, backend: "Backend") -> "np.ndarray":
        return self.local.vector(preset_id, backend)

    def vectors(self, backend: "Backend", ids: list[str] | None = None) -> dict[str, "np.ndarray"]:
        return self.local.vectors(backend, ids)

    @property
    def vectors_path(self) -> Path:
        return self.local.vectors_path

    @property
    def synced(self) -> bool:
        """True when the last sync reached the bucket."""
        return self.mirror.synced

    # --- sync -----------------------------------------------------------------------
    def sync(self) -> int:
        """Bring the local copy up to date (see `BucketMirror.sync`); files downloaded."""
        return self.mirror.sync()

    def refresh(self) -> int:
        """Sync, then re-read the manifest and vectors (e.g. after `push_presets`)."""
        n = self.mirror.sync()
        self.local.reload()
        return n

    # --- vectors upload ---------------------------------------------------------------
    def _schedule_upload(self) -> None:
        """The local catalog wrote vectors.npz: upload it on a background thread.

        The caller holds the catalog lock, and a slow bucket must not stall stylization;
        several saves in a row coalesce into one upload. `wait_for_upload()` waits for it.
        """
        with self._upload_state:
            self._upload_pending = True
            if self._upload_thread is not None:
                return  # the running uploader picks the new state up
            self._upload_thread = threading.Thread(
                target=self._upload_loop, name="nst-vectors-upload", daemon=True)
            self._upload_thread.start()

    def wait_for_upload(self, timeout: float | None = None) -> bool:
        """Wait for a pending vectors upload; True when none is left."""
        with self._upload_state:
            thread = self._upload_thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _upload_loop(self) -> None:
        while True:
            with self._upload_state:
                if not self._upload_pending:
                    self._upload_thread = None
                    return
                self._upload_pending = False
            try:
                self._upload_vectors()
            except Exception as e:
                log.warning("style catalog %s: could not upload %s (%s: %s); kept locally",
                            self.url, VECTORS, type(e).__name__, e)

    def _upload_vectors(self) -> None:
        from google.api_core.exceptions import NotFound, PreconditionFailed

        mirror = self.mirror
        name = mirror.object_name(VECTORS)
        for _ in range(5):
            bucket = mirror.bucket()
            remote = bucket.get_blob(name, timeout=mirror.timeout, retry=mirror.retry)
            generation = int(remote.generation) if remote is not None else 0
            ours = self.local.saved_vectors()
            if remote is not None:
                try:
                    theirs = load_vectors(mirror.download(VECTORS, generation))
                except (PreconditionFailed, NotFound):
                    continue
                except ValueError:
                    theirs = {}
                extra = {k: v for k, v in theirs.items() if k not in ours}
                if not extra and set(theirs) == set(ours):
                    mirror.remember(VECTORS, remote)
                    return  # the bucket already has all of them
                if extra:  # another instance uploaded vectors we lack: keep both
                    ours = self.local.add_vectors(extra)
            blob = bucket.blob(name)
            try:
                blob.upload_from_string(npz_bytes(ours), content_type="application/octet-stream",
                                        if_generation_match=generation,
                                        timeout=mirror.timeout, retry=mirror.retry)
            except PreconditionFailed:
                continue  # someone uploaded meanwhile: merge again
            mirror.remember(VECTORS, blob)
            log.info("style catalog %s: uploaded %s (%d vectors)", self.url, VECTORS, len(ours))
            return
        log.warning("style catalog %s: %s kept changing; not uploaded", self.url, VECTORS)


__all__ = ["GcsCatalog"]
