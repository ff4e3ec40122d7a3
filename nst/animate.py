"""Stylize a clip: decode → stylize → stabilize → encode, streaming.

Frames stream through (nothing but the frames in flight and the previous input
and output frame is kept), so memory does not grow with the clip's length.  The
style code is computed once per clip (``Engine.frame_renderer``) and every frame
is one pass of whatever backend the engine runs.  The next frame is painted on
a worker thread (up to ``backend.streams`` at once, NST_STREAMS) while this
thread stabilizes and encodes the earlier ones in order.
"""
from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nst.protect import FrameGuard
from nst.temporal import DEFAULT_WEIGHT, Stabilizer
from nst.video import Clip, ClipWriter

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from nst.engine import Engine, StyleOptions

#: progress(frames done, frames in all); raise from it to cancel.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ClipResult:
    frames: int
    size: tuple[int, int]
    duration: float
    cut: bool          # the input was longer than the cap and was cut
    seconds: float     # wall time of the whole run
    faces: bool = False  # protect was asked and a face was found in some frame


def stylize_clip(
    engine: "Engine",
    clip: Clip,
    style: "str | Image.Image",
    options: "StyleOptions",
    out_path: str | os.PathLike,
    fmt: str = "mp4",
    *,
    mix: "str | Image.Image | None" = None,
    mix_weight: float = 0.5,
    stabilize: float = DEFAULT_WEIGHT,
    progress: Progress | None = None,
) -> ClipResult:
    """Write the painted ``clip`` to ``out_path`` as ``fmt`` ("mp4" or "gif").

    ``stabilize`` is the blend weight of the flow-warped previous frame (0 = plain
    per-frame stylization).  Raises ClipError for bad input (also mid-way),
    StyleNotFound / OptionError / ModelError like ``Engine.stylize``.
    """
    from PIL import Image

    started = time.monotonic()
    info = clip.info
    stabilizer = Stabilizer(stabilize) if stabilize > 0 else None
    streams = max(1, engine.backend.streams)
    render = None
    guard = (FrameGuard(lambda im: engine.subjects(im, small_faces=False), options.protect)
             if options.protect != "none" else None)
    pending: deque[tuple[float, np.ndarray, Future[np.ndarray]]] = deque()
    pool = ThreadPoolExecutor(streams, thread_name_prefix="clip-paint")
    with ClipWriter(out_path, fmt, (info.width, info.height), max(info.fps, 1.0)) as writer:

        def finish() -> None:
            t, frame, painted = pending.popleft()
            out = painted.result()
            if guard is not None:  # faces / the person, their mask carried along the flow
                out = guard(frame, out)
            if stabilizer is not None:
                out = stabilizer(frame, out)
            writer.write(t, out)
            if progress is not None:
                progress(writer.frames, info.frames)

        try:
            for t, frame in clip.frames():
                if render is None:  # the style code of the whole clip, from its first frame
                    render = engine.frame_renderer(style, options, Image.fromarray(frame, "RGB"),
                                                   mix=mix, mix_weight=mix_weight, batch=streams > 1)
                pending.append((t, frame, pool.submit(render, frame)))
                if len(pending) > streams:
                    finish()
            while pending:
                finish()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        done = writer.frames
    return ClipResult(done, (info.width, info.height), info.duration, info.cut,
                      time.monotonic() - started, faces=guard is not None and guard.found)


__all__ = ["stylize_clip", "ClipResult", "Progress"]
