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

import base64
import contextlib
import hashlib
import io
import json
import logging
import mimetypes
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from nst.catalog import _ID_RE, MANIFEST, VECTORS, CatalogError, LocalCatalog

log = logging.getLogger(__name__)

INDEX = ".gcs-index.json"
LOCK = ".sync.lock"
_PROCESS_LOCK = threading.Lock()  # flock is per open file; this orders threads too


# --------------------------------------------------------------------------- helpers

def parse_gs_url(url: str) -> tuple[str, str]:
    """``gs://bucket/some/prefix`` → ("bucket", "some/prefix")."""
    if not url.startswith("gs://"):
        raise ValueError(f"not a gs:// URL: {url!r}")
    bucket, _, prefix = url[len("gs://"):].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {url!r}")
    return bucket, prefix.strip("/")


def _make_client() -> Any:
    """`storage.Client()`; anonymous on the emulator when STORAGE_EMULATOR_HOST is set."""
    from google.cloud import storage

    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(project="test", credentials=AnonymousCredentials())
    return storage.Client()


def _retry(deadline: float):
    from google.cloud.storage.retry import DEFAULT_RETRY

    return DEFAULT_RETRY.with_timeout(deadline).with_delay(initial=0.2, maximum=4.0, multiplier=2.0)


def _md5_b64(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return base64.b64encode(h.digest()).decode("ascii")


def _stamp(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_npz_bytes(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: np.asarray(z[k], dtype=np.float32) for k in z.files}


def _npz_bytes(vectors: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **vectors)
    return buf.getvalue()


def _manifest_entries(raw: Any) -> list:
    entries = raw.get("presets") if isinstance(raw, dict) else raw
    if not isinstance(entries, list):
        raise ValueError("manifest.json must be a list of presets (or {\"presets\": [...]})")
    return entries


def _entry_file(entry: dict) -> str:
    return entry.get("file") or f"{entry['id']}.jpg"


def _safe_rel(rel: str) -> bool:
    p = Path(rel)
    return (bool(rel) and not p.is_absolute() and ".." not in p.parts
            and rel == p.as_posix() and not rel.startswith("."))


@contextlib.contextmanager
def _sync_lock(folder: Path) -> Iterator[None]:
    with _PROCESS_LOCK:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on Linux: threads only
            yield
            return
        with open(folder / LOCK, "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


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
        _atomic_write(self.local_folder / INDEX, json.dumps(doc, indent=1, sort_keys=True).encode())

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
            _atomic_write(local_manifest, manifest_bytes)
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
            _atomic_write(path, self._download(rel, int(blob.generation)))
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
            _atomic_write(path, _npz_bytes({**ours, **theirs}))
        else:
            _atomic_write(path, data)
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
            data = _npz_bytes(ours)
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


# --------------------------------------------------------------------------- push

def validate_presets(src: Path) -> list[dict]:
    """The manifest entries of a preset folder, or ValueError listing every problem."""
    from nst.images import load_image

    src = Path(src)
    path = src / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        entries = _manifest_entries(raw)
    except FileNotFoundError:
        raise ValueError(f"{path} not found") from None
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: {e}") from None
    problems: list[str] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(f"entry {n}: not an object")
            continue
        pid = entry.get("id")
        label = f"entry {n} ({pid!r})"
        if not isinstance(pid, str) or not _ID_RE.match(pid):
            problems.append(f"{label}: id must match [A-Za-z0-9][A-Za-z0-9_.-]{{0,63}}")
            continue
        if pid in seen:
            problems.append(f"{label}: duplicate id")
        seen.add(pid)
        for field in ("title", "artist", "year"):
            value = entry.get(field)
            if value is None or (isinstance(value, str) and not value.strip()):
                problems.append(f"{label}: missing {field}")
        rel = _entry_file(entry)
        if not isinstance(rel, str) or not _safe_rel(rel):
            problems.append(f"{label}: unsafe file name {rel!r}")
            continue
        image = src / rel
        if not image.is_file():
            problems.append(f"{label}: image {rel} not found")
            continue
        try:
            load_image(image)
        except Exception as e:
            problems.append(f"{label}: image {rel} does not decode ({getattr(e, 'detail', None) or e})")
    if not entries:
        problems.append("the manifest lists no presets")
    if problems:
        raise ValueError(f"{path} is not a valid preset manifest:\n  " + "\n  ".join(problems))
    return entries


def push_presets(src: Path, url: str, *, client: Any | None = None, timeout: float = 60.0,
                 retry_deadline: float = 60.0) -> int:
    """Validate `src` (manifest.json + images) and upload it to ``gs://bucket/prefix``.

    Uploads the images (skipping ones whose md5 already matches), ``vectors.npz`` if
    present, and manifest.json last, so a catalog syncing meanwhile never sees an entry
    without its image. Returns the number of presets. Raises ValueError for a bad
    folder (nothing is uploaded then) and RuntimeError when the bucket fails.
    """
    src = Path(src)
    bucket_name, prefix = parse_gs_url(url)
    entries = validate_presets(src)
    files = []
    for entry in entries:
        rel = _entry_file(entry)
        if rel not in files:
            files.append(rel)
    if (src / VECTORS).is_file():
        files.append(VECTORS)
    files.append(MANIFEST)

    client = client or _make_client()
    retry = _retry(retry_deadline)
    base = f"{prefix}/" if prefix else ""
    try:
        bucket = client.bucket(bucket_name)
        existing = {b.name: b for b in client.list_blobs(bucket_name, prefix=base,
                                                          timeout=timeout, retry=retry)}
        uploaded = 0
        for rel in files:
            local = src / rel
            name = base + rel
            if rel != MANIFEST and name in existing and existing[name].md5_hash == _md5_b64(local):
                continue
            ctype = "application/json" if rel == MANIFEST else (
                mimetypes.guess_type(rel)[0] or "application/octet-stream")
            bucket.blob(name).upload_from_filename(str(local), content_type=ctype,
                                                   timeout=timeout, retry=retry)
            uploaded += 1
    except Exception as e:
        raise RuntimeError(f"uploading presets to {url} failed ({type(e).__name__}: {e})") from e
    log.info("pushed %d presets (%d file(s) uploaded) to %s", len(entries), uploaded, url)
    return len(entries)


__all__ = ["GcsCatalog", "push_presets", "validate_presets", "parse_gs_url"]
