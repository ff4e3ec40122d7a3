"""Clips made from a still photo, for tests and the bench (no pytest here).

Three kinds of motion a phone clip has: a pan, a zoom, and a static shot with a
small moving subject.  Frames are uint8 RGB arrays; ``write_clip`` encodes them
with the project's own writer (MP4 or GIF).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from nst.video import ClipWriter


def _photo(path: Path, width: int) -> Image.Image:
    img = Image.open(path).convert("RGB")
    return img.resize((width, round(img.height * width / img.width)), Image.Resampling.LANCZOS)


def pan(photo: Path, frames: int, size: tuple[int, int], step: int = 3) -> list[np.ndarray]:
    """A window of ``size`` sliding right by ``step`` px a frame."""
    w, h = size
    img = _photo(photo, w + step * frames + 1)
    top = max(0, (img.height - h) // 2)
    return [np.asarray(img.crop((i * step, top, i * step + w, top + h))) for i in range(frames)]


def zoom(photo: Path, frames: int, size: tuple[int, int], end: float = 0.8) -> list[np.ndarray]:
    """A zoom in towards the centre: the crop shrinks to ``end`` of the view."""
    w, h = size
    img = _photo(photo, 2 * w)
    cx, cy = img.width / 2, img.height / 2
    out = []
    for i in range(frames):
        s = 1.0 - (1.0 - end) * i / max(1, frames - 1)
        hw, hh = w * s, min(h * s, img.height / 2)
        box = (cx - hw, cy - hh, cx + hw, cy + hh)
        out.append(np.asarray(img.resize(size, Image.Resampling.BILINEAR, box=box)))
    return out


def static(photo: Path, frames: int, size: tuple[int, int], step: int = 2) -> list[np.ndarray]:
    """A still camera; a small ball rolls across the lower third."""
    w, h = size
    base = _photo(photo, w).crop((0, 0, w, h))
    r = max(3, h // 12)
    out = []
    for i in range(frames):
        img = base.copy()
        x, y = w // 4 + i * step, 2 * h // 3
        ImageDraw.Draw(img).ellipse((x - r, y - r, x + r, y + r), fill=(200, 40, 30))
        out.append(np.asarray(img))
    return out


def write_clip(frames: list[np.ndarray], path: Path, fps: float = 15.0) -> Path:
    """Encode ``frames`` (equal sizes) to ``path``; the format follows the extension."""
    fmt = "gif" if path.suffix.lower() == ".gif" else "mp4"
    h, w = frames[0].shape[:2]
    with ClipWriter(path, fmt, (w, h), fps) as writer:
        for i, frame in enumerate(frames):
            writer.write(i / fps, frame)
    return path
