"""Clip intake and output with PyAV: MP4 / GIF / WebM / MOV in, MP4 (H.264) or GIF out.

``open_clip`` is the single entry point for untrusted clips.  It demuxes the
video track once *without decoding* to learn the frame times, which gives the
exact frame count for progress and stops bombs early: a canvas beyond
``max_canvas_pixels`` or more than ``max_source_frames`` frames in the kept part
is refused before a single frame is decoded.  What it keeps:

* the first ``max_seconds`` (the rest is cut; ``ClipInfo.cut`` says so),
* at most ``max_fps`` frames a second (frames dropped evenly, source times kept),
* frames scaled to a long side ≤ ``max_side`` with even sides (H.264 yuv420p
  needs them), sound dropped.

``Clip.frames()`` then decodes and yields one frame at a time, so memory does not
grow with the clip's length; ``ClipWriter`` encodes frames as they come.  A clip
of one frame (a still GIF) is a photo: ``ClipInfo.still`` is True and callers
use ``Clip.still()`` with the photo path.

Everything wrong with the input is a :class:`nst.errors.ClipError` with a
friendly ``user_message`` and a code (see ``nst.errors``).
"""
from __future__ import annotations

import io
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from nst.errors import ClipError

if TYPE_CHECKING:  # pragma: no cover
    import av
    from av.container import InputContainer, OutputContainer
    from PIL import Image

log = logging.getLogger(__name__)

Source = Union[bytes, bytearray, memoryview, str, os.PathLike]

#: Output containers by file extension.
FORMATS = {".mp4": "mp4", ".gif": "gif"}
#: Inputs that are clips even when the output is a picture (the CLI routes on these).
CLIP_EXTENSIONS = (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".gif", ".avi")

_MESSAGES = {
    "empty": "That clip is empty. Please send it again.",
    "corrupt": "That clip seems to be damaged or isn't a video I can read. Please try another one.",
    "no_video": "That file has no picture in it (only sound?). Please send a GIF or a video.",
    "no_frames": "That clip has no frames in it. Please send another one.",
    "too_big": "That clip's frames are far too large. Please send a smaller GIF or video.",
    "too_many_frames": "That clip has too many frames. Please send a shorter or slower one.",
}


def _error(code: str, detail: str | None = None) -> ClipError:
    return ClipError(_MESSAGES[code], code=code, detail=detail)


@dataclass(frozen=True)
class ClipLimits:
    """What a clip may be, and what of it is kept."""

    max_seconds: float = 10.0
    max_fps: float = 15.0
    max_side: int = 640
    #: Larger canvases are refused unread: one 16 MP frame is already 48 MB of RGB.
    max_canvas_pixels: int = 4096 * 4096
    #: Frames demuxed within max_seconds (240 fps video is 2400).
    max_source_frames: int = 3000


@dataclass(frozen=True)
class ClipInfo:
    width: int                 # of the frames Clip.frames() yields (even)
    height: int
    source_size: tuple[int, int]
    frames: int                # how many frames Clip.frames() yields
    duration: float            # seconds of the kept part (last frame shown 1/fps)
    cut: bool                  # the source was longer than max_seconds
    source_duration: float | None
    turns: int = 0             # quarter turns (counter-clockwise) that make frames upright

    @property
    def still(self) -> bool:
        return self.frames == 1

    @property
    def fps(self) -> float:
        return self.frames / self.duration if self.duration > 0 else 0.0


def even_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Long side ≤ max_side, aspect kept, both sides even and ≥ 2."""
    scale = min(1.0, max_side / max(width, height))
    w, h = max(2, round(width * scale)), max(2, round(height * scale))
    return w - w % 2, h - h % 2


def _open(source: Source) -> InputContainer:
    import av

    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise _error("empty")
        target: io.BytesIO | str = io.BytesIO(bytes(source))
    else:
        path = Path(source)
        if path.is_file() and path.stat().st_size == 0:
            raise _error("empty")
        target = str(path)
    try:
        return av.open(target, "r")
    except av.FFmpegError as e:
        raise _error("corrupt", f"open: {e}") from None


class Clip:
    """A scanned clip; iterate ``frames()`` (once or more) to decode it."""

    def __init__(self, source: Source, limits: ClipLimits = ClipLimits()) -> None:
        self._source = source
        self.limits = limits
        self._times, self.info = self._scan()

    def _scan(self) -> tuple[list[float], ClipInfo]:
        import av

        lim = self.limits
        with _open(self._source) as container:
            if not container.streams.video:  # only sound, or nothing at all
                raise _error("no_video" if container.streams.audio else "no_frames")
            stream = container.streams.video[0]
            # FFmpeg leaves a GIF's size at 0 until a frame is decoded: read its header
            width, height = _gif_canvas(self._source) or (stream.codec_context.width,
                                                          stream.codec_context.height)
            if width * height > lim.max_canvas_pixels:
                raise _error("too_big", f"canvas {width}x{height}")
            base = stream.time_base or Fraction(1, 90000)
            stamps: list[int] = []
            cut = False
            end = lim.max_seconds + 1.0  # B-frames arrive a little out of order
            try:
                for packet in container.demux(stream):
                    if packet.size == 0:
                        continue
                    pts = _stamp(packet.pts, packet.dts, len(stamps), base)
                    if stamps and float((pts - stamps[0]) * base) > end:
                        cut = True
                        break
                    stamps.append(pts)
                    if len(stamps) > lim.max_source_frames:
                        raise _error("too_many_frames", f"> {lim.max_source_frames} frames")
            except av.FFmpegError as e:
                raise _error("corrupt", f"demux: {e}") from None
            source_duration = (float(container.duration) / 1e6
                               if container.duration and container.duration > 0 else None)
            promised = stream.frames
        if not stamps or width <= 0 or height <= 0:  # the index promised frames: cut short
            raise _error("corrupt" if promised else "no_frames", "no packets")
        start = min(stamps)
        times = sorted(float((p - start) * base) for p in set(stamps))
        kept = [t for t in times if t < lim.max_seconds]
        cut = cut or len(kept) < len(times)
        if source_duration is not None and source_duration > lim.max_seconds + 0.05:
            cut = True
        chosen = _even_pick(kept, lim.max_fps)
        step = 1.0 / lim.max_fps
        last = chosen[-1] + (chosen[-1] - chosen[-2] if len(chosen) > 1 else step)
        duration = min(max(last, step), lim.max_seconds) if len(chosen) > 1 else 0.0
        turns = self._turns()
        if turns % 2:  # a phone's portrait video: stored landscape, shown turned
            width, height = height, width
        w, h = even_size(width, height, lim.max_side)
        return chosen, ClipInfo(w, h, (width, height), len(chosen), duration, cut,
                                source_duration, turns)

    def _turns(self) -> int:
        """Quarter turns of the display matrix (phones record portrait as turned landscape);
        decoding the first frame here also finds damage before any work is queued."""
        import av

        with _open(self._source) as container:
            try:
                for frame in container.decode(container.streams.video[0]):
                    return int(round((getattr(frame, "rotation", 0) or 0) / 90)) % 4
            except av.FFmpegError as e:
                raise _error("corrupt", f"decode: {e}") from None
        raise _error("corrupt", "no frame decodes")

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        """(time in seconds, uint8 RGB [H, W, 3]) for each kept frame, decoded lazily."""
        import av

        info, wanted = self.info, self._times
        if not wanted:
            return
        next_i, start = 0, None
        end = self.limits.max_seconds + 1.0  # as the scan: past it nothing more is wanted
        with _open(self._source) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            base = stream.time_base or Fraction(1, 90000)
            try:
                for index, frame in enumerate(container.decode(stream)):
                    if frame.width * frame.height > self.limits.max_canvas_pixels:
                        raise _error("too_big", f"frame {frame.width}x{frame.height}")
                    pts = _stamp(frame.pts, frame.dts, index, base)
                    start = pts if start is None else start
                    t = float((pts - start) * base)
                    if t > end:
                        break
                    if t + 1e-6 < wanted[next_i]:
                        continue  # dropped to cap the frame rate
                    yield wanted[next_i], _upright(frame, info.turns, (info.width, info.height))
                    next_i += 1
                    if next_i == len(wanted):
                        return
            except av.FFmpegError as e:
                raise _error("corrupt", f"decode: {e}") from None
        if next_i == 0:
            raise _error("no_frames")
        log.warning("clip ended early: %d of %d frames decoded", next_i, len(wanted))

    def still(self) -> "Image.Image":
        """The first frame at its source size, as an RGB image (for one-frame clips)."""
        from PIL import Image

        import av

        with _open(self._source) as container:
            try:
                for frame in container.decode(container.streams.video[0]):
                    return Image.fromarray(_upright(frame, self.info.turns), "RGB")
            except av.FFmpegError as e:
                raise _error("corrupt", f"decode: {e}") from None
        raise _error("no_frames")


def _stamp(pts: int | None, dts: int | None, index: int, base: Fraction) -> int:
    """A packet's or frame's time in ``base`` units; with no timing at all (a bare H.264
    stream) the scan and the decode both make it up the same way: 25 fps by position."""
    if pts is not None:
        return pts
    if dts is not None:
        return dts
    return int(index / 25 / base)


def _upright(frame: av.VideoFrame, turns: int, size: tuple[int, int] | None = None) -> np.ndarray:
    """uint8 RGB of a decoded frame, scaled to ``size`` (as shown) and turned upright."""
    kwargs: dict[str, Any] = {}
    if size is not None:
        w, h = size if turns % 2 == 0 else size[::-1]
        kwargs = {"width": w, "height": h, "interpolation": "AREA"}
    arr = frame.to_ndarray(format="rgb24", **kwargs)
    return np.ascontiguousarray(np.rot90(arr, turns)) if turns else arr


def _gif_canvas(source: Source) -> tuple[int, int] | None:
    """(width, height) of a GIF's logical screen, None for anything else."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        head = bytes(source[:10])
    else:
        with open(source, "rb") as f:
            head = f.read(10)
    if len(head) < 10 or head[:4] != b"GIF8":
        return None
    return int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")


def _even_pick(times: list[float], max_fps: float) -> list[float]:
    """Keep frames at least ~1/max_fps apart, spread evenly (30 fps → every 2nd)."""
    step, out, due = 1.0 / max_fps, [], None
    for t in times:
        if due is None or t >= due - 0.25 * step:
            out.append(t)
            due = (due if due is not None and due > t - step else t) + step
    return out


def open_clip(source: Source, limits: ClipLimits = ClipLimits()) -> Clip:
    """Scan an untrusted clip (bytes or a path); raises ClipError."""
    return Clip(source, limits)


class ClipWriter:
    """Encode frames as they come: MP4 (H.264 yuv420p, faststart) or GIF (looping).

    Write to a path; MP4's faststart rewrites the file at close, which needs a
    real file.  Use as a context manager; ``close()`` flushes the encoder.
    """

    def __init__(self, path: str | os.PathLike, fmt: str, size: tuple[int, int],
                 fps: float = 15.0, *, crf: int = 23) -> None:
        import av

        if fmt not in ("mp4", "gif"):
            raise ValueError(f"clip format must be 'mp4' or 'gif', not {fmt!r}")
        w, h = size
        if fmt == "mp4" and (w % 2 or h % 2):
            raise ValueError(f"H.264 yuv420p needs even sides, not {w}x{h}")
        self.fmt, self.size = fmt, (w, h)
        self.frames = 0
        self._last = -1
        self._out: OutputContainer | None
        rate = Fraction(max(1, round(fps)))
        if fmt == "mp4":
            self._base = Fraction(1, 1000)
            self._out = av.open(str(path), "w", format="mp4",
                                options={"movflags": "+faststart"})
            stream = self._out.add_stream("libx264", rate=rate)
            stream.pix_fmt = "yuv420p"
            # main profile, no B-frame surprises: plays in every Telegram client
            stream.codec_context.options = {"preset": "veryfast", "crf": str(crf),
                                            "profile": "main"}
        else:
            self._base = Fraction(1, 100)  # GIF delays are centiseconds
            self._out = av.open(str(path), "w", format="gif", options={"loop": "0"})
            stream = self._out.add_stream("gif", rate=rate)
            stream.pix_fmt = "pal8"
        stream.width, stream.height = w, h
        stream.time_base = self._base
        self._stream = stream

    def write(self, t: float, frame: np.ndarray) -> None:
        """Add a uint8 RGB [H, W, 3] frame shown from ``t`` seconds on."""
        import av

        if frame.shape[:2] != (self.size[1], self.size[0]):
            raise ValueError(f"frame is {frame.shape[1]}x{frame.shape[0]}, "
                             f"the clip {self.size[0]}x{self.size[1]}")
        pts = max(int(round(t / self._base)), self._last + 1)
        self._last = pts
        if self.fmt == "gif":
            # PyAV takes (indices, palette) for pal8; its stubs know only one array
            vf = av.VideoFrame.from_ndarray(_palette_frame(frame),  # type: ignore[arg-type]
                                            format="pal8")
        else:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        vf.pts, vf.time_base = pts, self._base
        assert self._out is not None, "write after close"
        for packet in self._stream.encode(vf):
            self._out.mux(packet)
        self.frames += 1

    def close(self) -> None:
        if self._out is None:
            return
        try:
            for packet in self._stream.encode():
                self._out.mux(packet)
        finally:
            out, self._out = self._out, None
            out.close()

    def __enter__(self) -> "ClipWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _palette_frame(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RGB → (indices, ARGB palette) with a palette of this frame's own 256 colours."""
    from PIL import Image

    q = Image.fromarray(frame, "RGB").quantize(256, method=Image.Quantize.FASTOCTREE,
                                               dither=Image.Dither.NONE)
    rgb = np.asarray((q.getpalette() or [])[:768], np.uint8).reshape(-1, 3)
    palette = np.zeros((256, 4), np.uint8)
    palette[:, 0] = 255
    palette[:len(rgb), 1:] = rgb
    return np.asarray(q), palette


def temp_path(suffix: str) -> str:
    """A fresh temporary file name (the caller deletes it)."""
    fd, name = tempfile.mkstemp(suffix=suffix, prefix="nst-clip-")
    os.close(fd)
    return name


__all__ = ["Clip", "ClipInfo", "ClipLimits", "ClipWriter", "open_clip", "even_size",
           "FORMATS", "CLIP_EXTENSIONS", "temp_path"]
