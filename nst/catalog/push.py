"""Upload a preset folder to ``gs://bucket/prefix`` (``python -m nst styles push``).

`validate_presets` checks a folder (manifest.json + images) and lists every problem;
`push_presets` validates it and uploads the changed files, manifest.json last.
"""
from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from typing import Any

from nst.brush import BRUSHES
from nst.catalog.manifest import MANIFEST, entry_file, entry_problem, read_manifest
from nst.catalog.mirror import md5_b64
from nst.catalog.vectors import VECTORS
from nst.gcs import make_client, make_retry, parse_gs_url

log = logging.getLogger(__name__)


def validate_presets(src: Path) -> list[dict]:
    """The manifest entries of a preset folder, or ValueError listing every problem."""
    from nst.images import load_image

    src = Path(src)
    path = src / MANIFEST
    try:
        entries = read_manifest(src)
    except FileNotFoundError:
        raise ValueError(f"{path} not found") from None
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: {e}") from None
    problems: list[str] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries):
        label = f"entry {n} ({entry.get('id')!r})" if isinstance(entry, dict) else f"entry {n}"
        problem = entry_problem(entry)
        if problem is not None:
            problems.append(f"{label}: {problem}")
            continue
        pid, rel = entry["id"], entry_file(entry)
        if pid in seen:
            problems.append(f"{label}: duplicate id")
        seen.add(pid)
        for field in ("title", "artist", "year"):
            value = entry.get(field)
            if value is None or (isinstance(value, str) and not value.strip()):
                problems.append(f"{label}: missing {field}")
        if entry.get("brush") not in (None, "", *BRUSHES):
            problems.append(f"{label}: brush must be one of {', '.join(BRUSHES)}")
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
        rel = entry_file(entry)
        if rel not in files:
            files.append(rel)
    if (src / VECTORS).is_file():
        files.append(VECTORS)
    files.append(MANIFEST)

    client = client or make_client()
    retry = make_retry(retry_deadline, initial=0.2, maximum=4.0)
    base = f"{prefix}/" if prefix else ""
    try:
        bucket = client.bucket(bucket_name)
        existing = {b.name: b for b in client.list_blobs(bucket_name, prefix=base,
                                                          timeout=timeout, retry=retry)}
        uploaded = 0
        for rel in files:
            local = src / rel
            name = base + rel
            if rel != MANIFEST and name in existing and existing[name].md5_hash == md5_b64(local):
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
