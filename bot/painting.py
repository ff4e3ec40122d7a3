"""Painting for the bot, without Telegram: a render's inputs (bytes) in, a JPEG or an
MP4 out. These functions run on a render thread (bot/jobs.py); the handlers download
the inputs, queue the job and send what it returns.

Engine refusals stay nst errors here (bot/handlers/render.py turns them into one
sentence); a style photo or a clip that can't be read is a UserError at once.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import texts
from bot.errors import UserError, clip_refusal
from bot.records import Render
from nst import StyleOptions, encode_image, load_image
from nst.animate import stylize_clip
from nst.errors import ClipError, ImageError
from nst.images import PHOTO_DECODE_PIXELS, STYLE_DECODE_PIXELS
from nst.preview import preview_grid
from nst.protect import DEFAULT_PROTECT
from nst.video import Clip, ClipInfo, ClipLimits, open_clip, temp_path

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from nst.engine import Engine

log = logging.getLogger(__name__)

PREVIEW_SIDE = 1280   # what a chat shows well; Telegram downsizes photos anyway
HD_SIDE = 4096        # the ⬇ HD document
STYLE_DRAFT = 512     # the style network looks at 256 px: decode big style photos small
CHECK_SIDE = 256      # decoding this small is enough to know a picture is usable
#: 10 s, 15 fps, long side 640 px: Telegram shows animations small anyway.
LIMITS = ClipLimits()
#: A photo result (1280×960) is one unit of queue cost.
PHOTO_PIXELS = 1280 * 960


@dataclass(frozen=True)
class Painting:
    """What a render job made: a JPEG, or for a clip an MP4 (`duration` set)."""

    data: bytes
    size: tuple[int, int]
    duration: float | None = None
    cut_at: float | None = None     # a clip painted only up to this many seconds
    faces: bool = False             # a face was found: the result offers 🙂

    @property
    def is_clip(self) -> bool:
        return self.duration is not None


def load_style(style: bytes | str) -> str | Image.Image:
    """A preset id as it is; a style photo's bytes decoded (small: the network looks at
    256 px). UserError when the style photo cannot be read."""
    if not isinstance(style, bytes):
        return style
    try:
        return load_image(style, draft_side=STYLE_DRAFT, max_decoded=STYLE_DECODE_PIXELS)
    except ImageError as exc:
        too_big = exc.code == "too_big_to_open"
        raise UserError(texts.STYLE_TOO_BIG if too_big else texts.STYLE_UNREADABLE) from exc


def brush_of(engine: Engine, render: Render) -> str:
    """The brush a render paints with: its own, else the painting's default."""
    return render.brush or engine.default_brush(render.preset or "")


def protect_of(render: Render) -> str:
    """What a render keeps of faces (🙂): its own setting, else nst's default."""
    return render.protect or DEFAULT_PROTECT


def check_picture(data: bytes, *, as_style: bool = False) -> None:
    """Decode small, to know a picture is usable (within the budget of its role: the
    photo or the style); raises the nst error when it is not."""
    budget = STYLE_DECODE_PIXELS if as_style else PHOTO_DECODE_PIXELS
    load_image(data, draft_side=CHECK_SIDE, max_decoded=budget)


def paint_photo(engine: Engine, content: bytes, style: bytes | str, render: Render,
                max_side: int) -> Painting:
    """Decode, paint, encode (no metadata kept)."""
    image = load_image(content, draft_side=max_side, max_decoded=PHOTO_DECODE_PIXELS)
    options = StyleOptions(strength=render.strength / 100, keep_colors=render.keep_colors,
                           max_side=max_side, brush=render.brush, protect=protect_of(render))
    found = engine.subjects_later(image)   # beside the painting; 🙂 needs it either way
    out = engine.stylize(image, load_style(style), options, mix=render.mix,
                         mix_weight=render.mix_weight, subjects=found)
    return Painting(encode_image(out, "JPEG"), out.size, faces=found.result().found)


def paint_glance(engine: Engine, content: bytes, preset_ids: list[str]) -> Painting:
    """👀: decode once, the photo painted small in each preset, one numbered 3×3 JPEG."""
    image = load_image(content, draft_side=PREVIEW_SIDE, max_decoded=PHOTO_DECODE_PIXELS)
    grid = preview_grid(engine, image, preset_ids, protect=DEFAULT_PROTECT)
    return Painting(encode_image(grid, "JPEG", quality=85), grid.size)


def scan(data: bytes) -> Clip:
    """The clip's frames and size, cheaply (the first frame only); UserError when unusable."""
    try:
        return open_clip(data, LIMITS)
    except ClipError as exc:
        log.info("clip refused: %s (%s)", exc.code, exc.detail)
        raise clip_refusal(exc) from exc


def cost(info: ClipInfo) -> float:
    """How many photo results this clip's painting is worth in the fair queue."""
    return max(1.0, info.frames * info.width * info.height / PHOTO_PIXELS)


class FrameCounter:
    """Frames done / total, written by the render thread, read by the progress message."""

    def __init__(self) -> None:
        self.done = 0
        self.total = 0

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total


def paint_clip(engine: Engine, clip: Clip, style: bytes | str, render: Render,
               counter: FrameCounter) -> Painting:
    """Every frame painted at its own size with one style code, stabilized, into an MP4
    (H.264, yuv420p, even sides, faststart)."""
    options = StyleOptions(strength=render.strength / 100, keep_colors=render.keep_colors,
                           max_side=LIMITS.max_side, protect=protect_of(render))
    path = temp_path(".mp4")
    try:
        result = stylize_clip(engine, clip, load_style(style), options, path, "mp4",
                              mix=render.mix, mix_weight=render.mix_weight, progress=counter)
        with open(path, "rb") as f:
            data = f.read()
    except ClipError as exc:  # found only while decoding (damage past the index)
        log.info("clip refused mid-way: %s (%s)", exc.code, exc.detail)
        raise clip_refusal(exc) from exc
    finally:
        os.unlink(path)
    cut_at = LIMITS.max_seconds if result.cut else None
    return Painting(data, result.size, result.duration, cut_at, faces=result.faces)
