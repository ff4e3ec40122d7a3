"""Bucket and local-copy plumbing shared by `GcsCatalog` and `push_presets`.

``gs://`` URL parsing, the storage client (anonymous on the emulator) and its retry
policy, md5 / size+mtime stamps for the local index (``.gcs-index.json``), atomic
file replacement, ``vectors.npz`` (de)serialisation, manifest entry helpers, and the
file lock (``.sync.lock``) that keeps several worker processes from syncing at once.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np

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


def _read_npz_bytes(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: np.asarray(z[k], dtype=np.float32) for k in z.files}


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


__all__ = ["INDEX", "LOCK", "parse_gs_url"]
