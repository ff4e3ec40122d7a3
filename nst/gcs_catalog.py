"""Preset styles kept in Google Cloud Storage (``STYLES=gs://bucket/prefix``).

The bucket holds the same files as a local catalog folder::

    gs://bucket/prefix/manifest.json
    gs://bucket/prefix/<id>.jpg …          (or each entry's "file")
    gs://bucket/prefix/vectors.npz         (optional: cached style vectors)

`GcsCatalog` copies them into a local folder, ``<root>/nst-styles/<bucket>/<prefix>``
where ``<root>`` is `cache_dir` (``NST_CACHE_DIR``) or the temp dir (``/tmp`` — in
memory on App Engine), and then is exactly a `LocalCatalog` over that folder. A small
index (``.gcs-index.json``: generation, md5, local size/mtime per file) makes later
starts download only what changed; files are replaced atomically and the manifest
last, and a file lock keeps several worker processes from syncing at the same time.

Style vectors: ``vectors.npz`` is synced like the images (merged with a local copy
that holds more); `save_vectors()` writes the local file and then uploads it
(merged with what other instances uploaded meanwhile, ``ifGenerationMatch`` so no one
loses vectors) — best effort: failures are logged, never raised.

Bucket unreachable at start: with a previous local copy the catalog logs a warning and
serves it (cached presets keep working); without one it raises `CatalogError`.

`push_presets(folder, "gs://bucket/prefix")` validates a folder and uploads it
(``python -m nst styles push``).
"""
from __future__ import annotations
import contextlib
import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from nst.catalog import MANIFEST, VECTORS, CatalogError, LocalCatalog, npz_bytes
from nst.gcs_push import push_presets, validate_presets
from nst.files import atomic_write
from nst.gcs_sync import (  # noqa: F401  (INDEX, LOCK: the local file names, re-exported)
    INDEX,
    LOCK,
    _entry_file,
    _make_client,
    _manifest_entries,
    _md5_b64,
    _read_npz_bytes,
    _retry,
    _safe_rel,
    _stamp,
    _sync_lock,
    parse_gs_url,
)

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- catalog

class GcsCatalog(LocalCatalog):
    """A `LocalCatalog` over a synced copy of ``gs://bucket/prefix``."""

    def __init__(
        self,
        url: str,
        cache_dir: str | os.PathLike | None = None,
        *,
        client: Any | None = None,
        timeout: float = 30.0,
        retry_deadline: float = 20.0,
    ) -> None:
        self.url = url
        self.bucket_name, self.prefix = parse_gs_url(url)
        root = Path(cache_dir).expanduser() if cache_dir is not None else Path(tempfile.gettempdir())
        local = root / "nst-styles" / self.bucket_name
        if self.prefix:
            local = local.joinpath(*self.prefix.split("/"))
        self.local_folder = local
        self.timeout = float(timeout)
        self._retry = _retry(retry_deadline)
        self._client = client
        self._upload_state = threading.Lock()
        self._upload_pending = False
        self._upload_thread: threading.Thread | None = None
        self.synced = False  # True when the last sync reached the bucket
        try:
            local.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CatalogError(code="catalog_unavailable",
                               detail=f"cannot create the local style copy {local}: {e}") from e
        self.sync(initial=True)
        super().__init__(local, cache_dir=local)  # vectors.npz next to the synced images

    # --- GCS plumbing ---------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _make_client()
        return self._client

    def _bucket(self) -> Any:
        return self.client.bucket(self.bucket_name)

    def _object(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def _list_remote(self) -> dict[str, Any]:
        base = f"{self.prefix}/" if self.prefix else ""
        out = {}
        for blob in self.client.list_blobs(self.bucket_name, prefix=base,
                                           timeout=self.timeout, retry=self._retry):
            out[blob.name[len(base):]] = blob
        return out

    def _download(self, rel: str, generation: int | None) -> bytes:
        return self._bucket().blob(self._object(rel)).download_as_bytes(
            if_generation_match=generation, timeout=self.timeout, retry=self._retry)

    def _read_index(self) -> dict[str, dict]:
        try:
            raw = json.loads((self.local_folder / INDEX).read_text(encoding="utf-8"))
            objects = raw.get("objects", {})
            return objects if isinstance(objects, dict) else {}
        except (OSError, ValueError, AttributeError):
            return {}

    def _write_index(self, objects: dict[str, dict]) -> None:
        doc = {"url": self.url, "objects": objects}
        atomic_write(self.local_folder / INDEX, json.dumps(doc, indent=1, sort_keys=True).encode())

    # --- sync -----------------------------------------------------------------------
    def sync(self, initial: bool = False) -> int:
        """Bring the local copy up to date; returns how many files were downloaded.

        If the bucket cannot be read and a local copy exists, logs a warning and keeps
        the copy (returns 0); without a copy raises `CatalogError`. After the first
        sync call `refresh()` instead, which also re-reads the manifest.
        """
        try:
            with _sync_lock(self.local_folder):
                n = self._sync_locked()
            self.synced = True
            return n
        except CatalogError:
            raise
        except Exception as e:  # network, auth, bad remote manifest, disk …
            self.synced = False
            if (self.local_folder / MANIFEST).is_file():
                log.warning("style catalog %s unreachable (%s: %s); using the local copy in %s",
                            self.url, type(e).__name__, e, self.local_folder)
                return 0
            raise CatalogError(
                code="catalog_unavailable",
                detail=f"cannot download the style catalog {self.url} ({type(e).__name__}: {e}) "
                       f"and there is no local copy in {self.local_folder}",
            ) from e

    def refresh(self) -> int:
        """Sync, then re-read the manifest (e.g. after `push_presets`)."""
        n = self.sync()
        self.reload()
        with self._lock:
            self._vectors = None  # re-read vectors.npz (it may have been merged)
        return n

    def _sync_locked(self) -> int:
        remote = self._list_remote()
        if MANIFEST not in remote:
            raise FileNotFoundError(f"{self.url}/{MANIFEST} does not exist")
        old_index = self._read_index()
        index: dict[str, dict] = {}
        downloaded = 0

        mblob = remote[MANIFEST]
        manifest_bytes = self._download(MANIFEST, int(mblob.generation))
        entries = _manifest_entries(json.loads(manifest_bytes))
        wanted: list[str] = []
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                rel = _entry_file(entry)
                if isinstance(rel, str) and _safe_rel(rel) and rel not in wanted:
                    wanted.append(rel)
        missing = [rel for rel in wanted if rel not in remote]
        if missing:  # LocalCatalog skips these presets with a warning
            log.warning("style catalog %s: manifest lists missing images %s", self.url, missing)

        for rel in [r for r in wanted if r in remote]:
            if self._fetch(rel, remote[rel], old_index.get(rel), index):
                downloaded += 1
        if VECTORS in remote:
            if self._fetch_vectors(remote[VECTORS], old_index.get(VECTORS), index):
                downloaded += 1
        elif VECTORS in old_index:
            pass  # the bucket lost its copy; ours stays a local cache
        # The manifest goes in last: a reader never sees entries whose image is missing.
        local_manifest = self.local_folder / MANIFEST
        if not local_manifest.is_file() or local_manifest.read_bytes() != manifest_bytes:
            atomic_write(local_manifest, manifest_bytes)
            downloaded += 1
        index[MANIFEST] = {"generation": str(mblob.generation), "md5": mblob.md5_hash,
                           "stamp": _stamp(local_manifest)}
        for rel in old_index:  # images no longer in the manifest
            if rel not in index and rel not in (MANIFEST, VECTORS) and _safe_rel(rel):
                with contextlib.suppress(OSError):
                    (self.local_folder / rel).unlink()
        self._write_index(index)
        log.info("style catalog %s: %d file(s) downloaded to %s", self.url, downloaded, self.local_folder)
        return downloaded

    def _unchanged(self, path: Path, blob: Any, known: dict | None) -> bool:
        """Is the local file the remote object? Index first, md5 when unsure."""
        stamp = _stamp(path)
        if stamp is None:
            return False
        if known and known.get("generation") == str(blob.generation) and known.get("stamp") == stamp:
            return True
        return bool(blob.md5_hash) and _md5_b64(path) == blob.md5_hash

    def _fetch(self, rel: str, blob: Any, known: dict | None, index: dict) -> bool:
        path = self.local_folder / rel
        changed = not self._unchanged(path, blob, known)
        if changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, self._download(rel, int(blob.generation)))
        index[rel] = {"generation": str(blob.generation), "md5": blob.md5_hash, "stamp": _stamp(path)}
        return changed

    def _fetch_vectors(self, blob: Any, known: dict | None, index: dict) -> bool:
        """vectors.npz: like an image, but merged with a local file that has more keys."""
        path = self.local_folder / VECTORS
        if known and known.get("generation") == str(blob.generation) and path.is_file():
            index[VECTORS] = {**known, "stamp": _stamp(path)}  # ours may have grown: keep it
            return False
        if self._unchanged(path, blob, known):
            index[VECTORS] = {"generation": str(blob.generation), "md5": blob.md5_hash,
                              "stamp": _stamp(path)}
            return False
        data = self._download(VECTORS, int(blob.generation))
        try:
            theirs = _read_npz_bytes(data)
        except Exception as e:
            log.warning("style catalog %s: ignoring unreadable %s (%s)", self.url, VECTORS, e)
            return False
        ours = LocalCatalog._read_npz(path) if path.is_file() else {}
        if set(ours) - set(theirs):
            atomic_write(path, npz_bytes({**ours, **theirs}))
        else:
            atomic_write(path, data)
        index[VECTORS] = {"generation": str(blob.generation), "md5": blob.md5_hash,
                          "stamp": _stamp(path)}
        return True

    # --- vectors upload ---------------------------------------------------------------
    def save_vectors(self) -> None:
        """Write vectors.npz locally (LocalCatalog), then upload it to the bucket.

        The upload runs on a background thread (the caller holds the catalog lock, and a
        slow bucket must not stall stylization); several saves in a row coalesce into
        one upload. Best effort: failures are logged, the local file is used anyway.
        `wait_for_upload()` waits for it (tests, or before shutting down).
        """
        super().save_vectors()
        if not self._persist:
            return
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

        path = self.vectors_path
        # Runs on the single uploader thread (see save_vectors).
        for _ in range(5):
            bucket = self._bucket()
            name = self._object(VECTORS)
            remote = bucket.get_blob(name, timeout=self.timeout, retry=self._retry)
            generation = int(remote.generation) if remote is not None else 0
            with self._lock:
                ours = LocalCatalog._read_npz(path)
            if remote is not None:
                try:
                    theirs = _read_npz_bytes(self._download(VECTORS, generation))
                except (PreconditionFailed, NotFound):
                    continue
                except ValueError:
                    theirs = {}
                extra = {k: v for k, v in theirs.items() if k not in ours}
                if not extra and set(theirs) == set(ours):
                    self._remember_vectors(remote)
                    return  # the bucket already has all of them
                if extra:  # another instance uploaded vectors we lack: keep both
                    with self._lock:
                        cache = self._cache()
                        for k, v in extra.items():
                            cache.setdefault(k, v)
                    LocalCatalog.save_vectors(self)
                    with self._lock:
                        ours = LocalCatalog._read_npz(path)
            data = npz_bytes(ours)
            blob = bucket.blob(name)
            try:
                blob.upload_from_string(data, content_type="application/octet-stream",
                                        if_generation_match=generation,
                                        timeout=self.timeout, retry=self._retry)
            except PreconditionFailed:
                continue  # someone uploaded meanwhile: merge again
            self._remember_vectors(blob)
            log.info("style catalog %s: uploaded %s (%d vectors)", self.url, VECTORS, len(ours))
            return
        log.warning("style catalog %s: %s kept changing; not uploaded", self.url, VECTORS)

    def _remember_vectors(self, blob: Any) -> None:
        """Record the uploaded generation so the next sync does not download it back."""
        with contextlib.suppress(Exception), _sync_lock(self.local_folder):
            index = self._read_index()
            index[VECTORS] = {"generation": str(blob.generation), "md5": blob.md5_hash,
                              "stamp": _stamp(self.local_folder / VECTORS)}
            self._write_index(index)


__all__ = ["GcsCatalog", "push_presets", "validate_presets", "parse_gs_url"]
