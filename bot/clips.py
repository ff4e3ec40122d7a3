"""Clips in the bot, without the conversation: which messages are clips, what a clip
costs in the render queue, and the CPU job that paints one (on a render thread)."""
from __future__ import annotations

import logging
import os
from typing import Any

from telegram import Message

from bot import texts
from bot.handlers.render import Painting, load_style
from bot.state import UserError
from nst import StyleOptions
from nst.animate import stylize_clip
from nst.errors import ClipError
from nst.video import Clip, ClipInfo, ClipLimits, open_clip, temp_path

log = logging.getLogger(__name__)

#: 10 s, 15 fps, long side 640 px: Telegram shows animations small anyway.
LIMITS = ClipLimits()
#: A photo result (1280×960) is one unit of queue cost.
PHOTO_PIXELS = 1280 * 960
CLIP_MIME_TYPES = {"image/gif", "video/mp4", "video/webm", "video/quicktime", "video/x-m4v"}
CLIP_EXTENSIONS = {"gif", "mp4", "webm", "mov", "m4v"}

_TEXT_BY_CODE = {
    "empty": texts.CLIP_EMPTY, "no_frames": texts.CLIP_EMPTY, "corrupt": texts.CLIP_UNREADABLE,
    "no_video": texts.CLIP_NO_VIDEO, "too_big": texts.CLIP_TOO_BIG,
    "too_many_frames": texts.CLIP_TOO_MANY_FRAMES,
}


def clip_ref(message: Message | None) -> dict[str, Any] | None:
    """The file reference of an animation, video, round video or GIF / video file."""
    if message is None:
        return None
    media, gif_file = message.animation or message.video or message.video_note, False
    doc = message.document
    if media is None and doc is not None and is_clip_document(doc.file_name, doc.mime_type):
        media = doc
        gif_file = (doc.mime_type or "").lower() == "image/gif" or \
            (doc.file_name or "").lower().endswith(".gif")
    if media is None:
        return None
    # gif_file: a GIF sent as a file, which the picture path can also read
    return {"file_id": media.file_id, "file_unique_id": media.file_unique_id,
            "file_size": media.file_size, "kind": "clip", "gif_file": gif_file}


def is_clip_document(file_name: str | None, mime_type: str | None) -> bool:
    """A file that is a GIF or a video (by its MIME type or its extension)."""
    name, mime = (file_name or "").lower(), (mime_type or "").lower()
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    return mime in CLIP_MIME_TYPES or mime.startswith("video/") or ext in CLIP_EXTENSIONS


def clip_text(exc: ClipError) -> str:
    """Our sentence for a clip the engine refused."""
    return _TEXT_BY_CODE.get(exc.code, texts.CLIP_UNREADABLE)


def scan(data: bytes) -> Clip:
    """The clip's frames and size, cheaply (no decoding); UserError when unusable."""
    try:
        return open_clip(data, LIMITS)
    except ClipError as exc:
        log.info("clip refused: %s (%s)", exc.code, exc.detail)
        raise UserError(clip_text(exc)) from exc


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


def paint_clip(engine: Any, clip: Clip, style: Any, render: dict[str, Any],
               counter: FrameCounter, mix_weight: float) -> Painting:
    """The CPU part: every frame painted with one style code, stabilized, into an MP4
    (H.264, yuv420p, even sides, faststart)."""
    style = load_style(style)
    options = StyleOptions(strength=render["strength"] / 100, keep_colors=render["keep_colors"],
                           max_side=LIMITS.max_side)
    path = temp_path(".mp4")
    try:
        result = stylize_clip(engine, clip, style, options, path, "mp4", mix=render.get("mix"),
                              mix_weight=mix_weight, progress=counter)
        with open(path, "rb") as f:
            data = f.read()
    except ClipError as exc:  # found only while decoding (damage past the index)
        log.info("clip refused mid-way: %s (%s)", exc.code, exc.detail)
        raise UserError(clip_text(exc)) from exc
    finally:
        os.unlink(path)
    cut_at = LIMITS.max_seconds if result.cut else None
    return Painting(data, result.size, result.duration, cut_at)
