"""Clips made from a still photo, for tests and the bench (no pytest here).

Three kinds of motion a phone clip has: a pan, a zoom, and a static shot with a
small moving subject.  Frames are uint8 RGB arrays; ``write_clip`` encodes them
with the project's own writer (MP4 or GIF).
"""
from __future__ import annotations

import io
import struct
from fractions import Fraction
from pathlib import Path

import av
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


# --- inputs that our own writer would not make (odd rates, rotation, bombs, no video)
def bars(n: int, size: tuple[int, int]) -> list[np.ndarray]:
    w, h = size
    out = []
    for i in range(n):
        a = np.full((h, w, 3), 40, np.uint8)
        a[:, (i * 4) % w:(i * 4) % w + 8] = (250, 120, 10)
        out.append(a)
    return out


def encode_clip(path: Path, n: int, size: tuple[int, int], fps: float,
            frames: list[np.ndarray] | None = None, rotation: int | None = None,
            container: str | None = None) -> Path:
    """A raw PyAV encode (not our writer) at any frame rate, optionally with a display
    rotation, for inputs we must not shape. ``container="h264"`` writes a bare Annex B
    stream (whatever ``path`` is named): no frame carries a timestamp then."""
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.codec_context.options = {"preset": "ultrafast"}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i, a in enumerate(frames or bars(n, size)):
            frame = av.VideoFrame.from_ndarray(a, format="rgb24")
            frame.pts = i
            for p in stream.encode(frame):
                out.mux(p)
        for p in stream.encode():
            out.mux(p)
    return path


def raw_h264(path: Path, n: int, size: tuple[int, int], fps: float = 25.0) -> Path:
    """A bare H.264 stream of `n` frames: no container, so no timestamps."""
    return encode_clip(path, n, size, fps, container="h264")


def gif_canvas_bomb(side: int) -> bytes:
    """A valid 1×1 GIF whose logical screen claims side×side."""
    buf = io.BytesIO()
    Image.new("P", (1, 1), 0).save(buf, "GIF")
    data = buf.getvalue()
    return data[:6] + struct.pack("<HH", side, side) + data[10:]


def audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32),
                                               format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, i * 1024
            for p in stream.encode(frame):
                out.mux(p)
        for p in stream.encode():
            out.mux(p)
    return path
