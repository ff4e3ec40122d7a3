"""Upload a preset folder to ``gs://bucket/prefix`` (``python -m nst styles push``).

`validate_presets` checks a folder (manifest.json + images) and lists every problem;
`push_presets` validates it and uploads the changed files, manifest.json last.
"""
from __future__ import annotations

import json
import logging
import mimetypes
from pathlib import Path
from typing import Any

from nst.brush import BRUSHES
from nst.catalog import _ID_RE, MANIFEST, VECTORS
from nst.gcs_sync import (
    _entry_file,
    _make_client,
    _manifest_entries,
    _md5_b64,
    _retry,
    _safe_rel,
    parse_gs_url,
)

log = logging.getLogger(__name__)


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
        if entry.get("brush") not in (None, "", *BRUSHES):
            problems.append(f"{label}: brush must be one of {', '.join(BRUSHES)}")
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


__all__ = ["push_presets", "validate_presets"]
