"""`BucketMirror`: a local folder kept equal to ``gs://bucket/prefix``.

The folder is ``<root>/nst-styles/<bucket>/<prefix>`` where ``<root>`` is the cache
dir (``NST_CACHE_DIR``) or the temp dir (``/tmp`` — in memory on App Engine). A small
index (``.gcs-index.json``: generation, md5, local size/mtime per file) makes later
syncs download only what changed; files are replaced atomically and the manifest
last (a reader never sees an entry whose image is missing), and a file lock
(``.sync.lock``) keeps several worker processes from syncing at the same time.

``vectors.npz`` is synced like the images, except that a local file holding keys the
bucket's lacks is merged with it rather than replaced.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

from nst.catalog.base import CatalogError
from nst.catalog.manifest import MANIFEST, entry_file, entry_problem, parse_manifest, safe_file_name
from nst.catalog.vectors import VECTORS, load_vectors, npz_bytes, read_vectors
from nst.files import atomic_write
from nst.gcs import make_client, make_retry, parse_gs_url

log = logging.getLogger(__name__)

INDEX = ".gcs-index.json"
LOCK = ".sync.lock"
_PROCESS_LOCK = threading.Lock()  # flock is per open file; this orders threads too


def md5_b64(path: Path) -> str:
    """The file's md5 as GCS reports it (base64)."""
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


@contextlib.contextmanager
def sync_lock(folder: Path) -> Iterator[None]:
    """Exclusive across threads and processes: one sync (or index write) at a time."""
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


FETCH_THREADS = 8


class BucketMirror:
    """``gs://bucket/prefix`` and its local copy; `sync()` brings the copy up to date."""

    def __init__(self, url: str, root: Path, *, client: Any | None = None,
                 timeout: float = 30.0, retry_deadline: float = 20.0) -> None:
        self.url = url
        self.bucket_name, self.prefix = parse_gs_url(url)
        local = root / "nst-styles" / self.bucket_name
        if self.prefix:
            local = local.joinpath(*self.prefix.split("/"))
        self.local_folder = local
        self.timeout = float(timeout)
        self.retry = make_retry(retry_deadline, initial=0.2, maximum=4.0)
        self._client = client
        self.synced = False  # True when the last sync reached the bucket
        try:
            local.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CatalogError(code="catalog_unavailable",
                               detail=f"cannot create the local style copy {local}: {e}") from e

    # --- bucket ---------------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client()
        return self._client

    def bucket(self) -> Any:
        return self.client.bucket(self.bucket_name)

    def object_name(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def download(self, rel: str, generation: int | None) -> bytes:
        return self.bucket().blob(self.object_name(rel)).download_as_bytes(
            if_generation_match=generation, timeout=self.timeout, retry=self.retry)

    def _list_remote(self) -> dict[str, Any]:
        base = f"{self.prefix}/" if self.prefix else ""
        out = {}
        for blob in self.client.list_blobs(self.bucket_name, prefix=base,
                                           timeout=self.timeout, retry=self.retry):
            out[blob.name[len(base):]] = blob
        return out

    # --- index ----------------------------------------------------------------------
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

    def _entry(self, blob: Any, path: Path) -> dict:
        return {"generation": str(blob.generation), "md5": blob.md5_hash, "stamp": _stamp(path)}

    def remember(self, rel: str, blob: Any) -> None:
        """Record an uploaded generation so the next sync does not download it back."""
        with contextlib.suppress(Exception), sync_lock(self.local_folder):
            index = self._read_index()
            index[rel] = self._entry(blob, self.local_folder / rel)
            self._write_index(index)

    # --- sync -----------------------------------------------------------------------
    def sync(self) -> int:
        """Bring the local copy up to date; returns how many files were downloaded.

        If the bucket cannot be read and a local copy exists, logs a warning and keeps
        the copy (returns 0); without a copy raises `CatalogError`.
        """
        try:
            with sync_lock(self.local_folder):
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

    def _sync_locked(self) -> int:
        remote = self._list_remote()
        if MANIFEST not in remote:
            raise FileNotFoundError(f"{self.url}/{MANIFEST} does not exist")
        old_index = self._read_index()
        index: dict[str, dict] = {}
        downloaded = 0

        mblob = remote[MANIFEST]
        manifest_bytes = self.download(MANIFEST, int(mblob.generation))
        wanted: list[str] = []
        for entry in parse_manifest(manifest_bytes):
            if entry_problem(entry) is None and entry_file(entry) not in wanted:
                wanted.append(entry_file(entry))
        missing = [rel for rel in wanted if rel not in remote]
        if missing:  # LocalCatalog skips these presets with a warning
            log.warning("style catalog %s: manifest lists missing images %s", self.url, missing)

        # Side by side: each file is a round trip to the bucket (one after another, a new
        # instance waited for the 18 presets' trips in a row). Each call fills its own key.
        with ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="styles-sync") as pool:
            jobs = [pool.submit(self._fetch, rel, remote[rel], old_index.get(rel), index)
                    for rel in wanted if rel in remote]
            if VECTORS in remote:   # (a bucket without it leaves ours as a local cache)
                jobs.append(pool.submit(self._fetch_vectors, remote[VECTORS],
                                        old_index.get(VECTORS), index))
            downloaded += sum(bool(job.result()) for job in jobs)
        # The manifest goes in last: a reader never sees entries whose image is missing.
        local_manifest = self.local_folder / MANIFEST
        if not local_manifest.is_file() or local_manifest.read_bytes() != manifest_bytes:
            atomic_write(local_manifest, manifest_bytes)
            downloaded += 1
        index[MANIFEST] = self._entry(mblob, local_manifest)
        for rel in old_index:  # images no longer in the manifest
            if rel not in index and rel not in (MANIFEST, VECTORS) and safe_file_name(rel):
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
        return bool(blob.md5_hash) and md5_b64(path) == blob.md5_hash

    def _fetch(self, rel: str, blob: Any, known: dict | None, index: dict) -> bool:
        path = self.local_folder / rel
        changed = not self._unchanged(path, blob, known)
        if changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, self.download(rel, int(blob.generation)))
        index[rel] = self._entry(blob, path)
        return changed

    def _fetch_vectors(self, blob: Any, known: dict | None, index: dict) -> bool:
        """vectors.npz: like an image, but merged with a local file that has more keys."""
        path = self.local_folder / VECTORS
        if known and known.get("generation") == str(blob.generation) and path.is_file():
            index[VECTORS] = {**known, "stamp": _stamp(path)}  # ours may have grown: keep it
            return False
        if self._unchanged(path, blob, known):
            index[VECTORS] = self._entry(blob, path)
            return False
        data = self.download(VECTORS, int(blob.generation))
        try:
            theirs = load_vectors(data)
        except Exception as e:
            log.warning("style catalog %s: ignoring unreadable %s (%s)", self.url, VECTORS, e)
            return False
        ours = read_vectors(path) if path.is_file() else {}
        if set(ours) - set(theirs):
            atomic_write(path, npz_bytes({**ours, **theirs}))
        else:
            atomic_write(path, data)
        index[VECTORS] = self._entry(blob, path)
        return True


__all__ = ["BucketMirror", "INDEX", "LOCK", "md5_b64", "sync_lock"]
