"""``manifest.json`` of a preset folder: the one parser and the one set of rules.

The manifest is a list (or ``{"presets": [...]}``) of objects with ``id``, ``title``,
``artist``, ``year`` and optionally ``file`` (default ``{id}.jpg``) and ``brush`` (the
preset's default brush: bold, medium or fine; an unknown one is ignored with a warning,
and refused by ``styles push``); other fields are ignored. The catalog skips entries
that break a rule (with a warning), the bucket sync downloads only the files of entries
that keep them, and ``styles push`` refuses a folder with any problem — all three ask `entry_problem`.
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from nst.brush import BRUSHES
from nst.catalog.base import Preset

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def parse_manifest(data: bytes | str) -> list:
    """The entries of a manifest's text; ValueError if it is not JSON or not a list."""
    raw = json.loads(data)
    entries = raw.get("presets") if isinstance(raw, dict) else raw
    if not isinstance(entries, list):
        raise ValueError("manifest.json must be a list of presets (or {\"presets\": [...]})")
    return entries


def read_manifest(folder: Path) -> list:
    """The entries of ``folder/manifest.json``; FileNotFoundError, OSError or ValueError."""
    return parse_manifest((Path(folder) / MANIFEST).read_bytes())


def entry_file(entry: dict) -> Any:
    """The image file an entry names (not yet checked: see `safe_file_name`)."""
    return entry.get("file") or f"{entry['id']}.jpg"


def safe_file_name(rel: object) -> bool:
    """A relative POSIX path inside the folder, not hidden (our own files start with '.')."""
    if not isinstance(rel, str) or not rel:
        return False
    p = Path(rel)
    return not p.is_absolute() and ".." not in p.parts and rel == p.as_posix() and not rel.startswith(".")


def entry_problem(entry: object) -> str | None:
    """Why ``entry`` cannot be a preset (bad object, id or file name), or None."""
    if not isinstance(entry, dict):
        return "not an object"
    pid = entry.get("id")
    if not isinstance(pid, str) or not ID_RE.match(pid):
        return "id must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
    rel = entry_file(entry)
    if not safe_file_name(rel):
        return f"unsafe file name {rel!r}"
    return None


def to_preset(entry: dict) -> Preset:
    """A `Preset` from an entry `entry_problem` accepted; missing texts get defaults."""
    pid = entry["id"]
    year = entry.get("year", "")
    brush = entry.get("brush") or ""
    if brush not in ("", *BRUSHES):
        log.warning("preset %r has an unknown brush %r, ignored", pid, brush)
        brush = ""
    return Preset(
        id=pid,
        title=str(entry.get("title") or pid),
        artist=str(entry.get("artist") or ""),
        year="" if year is None else str(year),
        filename=entry_file(entry),
        brush=brush,
    )


__all__ = ["MANIFEST", "ID_RE", "parse_manifest", "read_manifest", "entry_file",
           "safe_file_name", "entry_problem", "to_preset"]
