"""What a message brings to paint, and the check on its arrival.

`classify` is the one place that says what a message's file is — a photo, an image
file, or a clip (GIF, animation, video, round video) — for every entry point: a photo
or file sent plainly, a clip, and the message a /stylize replies to. `arrival_problem`
downloads it and looks (small) before any keyboard is shown, so something I can't
paint is refused at once.
"""
from __future__ import annotations

import logging

from telegram import Bot, Message

from bot import painting, texts
from bot.arrivals import ArrivalPool
from bot.errors import UserError, picture_refusal
from bot.records import FileRef
from bot.telegram_io import MAX_DOWNLOAD, download
from nst.errors import NstError
from nst.video import CLIP_EXTENSIONS

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = {"jpg", "jpeg", "png", "webp", "heic", "heif", "bmp", "tif", "tiff", "gif",
                    "avif"}


def _extension(file_name: str | None) -> str:
    name = (file_name or "").lower()
    return name.rsplit(".", 1)[-1] if "." in name else ""


def is_clip_document(file_name: str | None, mime_type: str | None) -> bool:
    """A file that is a GIF or a video (by its MIME type or its extension)."""
    mime = (mime_type or "").lower()
    return (mime == "image/gif" or mime.startswith("video/")
            or f".{_extension(file_name)}" in CLIP_EXTENSIONS)


def is_image_document(file_name: str | None, mime_type: str | None) -> bool:
    """A file that is a picture (by its MIME type or its extension)."""
    return (mime_type or "").lower().startswith("image/") or \
        _extension(file_name) in IMAGE_EXTENSIONS


def classify(message: Message | None) -> FileRef | None:
    """The Telegram reference of the message's photo, image file or clip; None for
    anything else (text, stickers, other files)."""
    if message is None:
        return None
    # An animation also carries a `document`: it is a clip, not a file.
    media = message.animation or message.video or message.video_note
    if media is not None:
        return FileRef(media.file_id, media.file_unique_id, "clip", media.file_size)
    if message.photo:
        p = message.photo[-1]  # the largest size Telegram kept
        return FileRef(p.file_id, p.file_unique_id, "photo", p.file_size,
                       side=max(p.width, p.height))
    doc = message.document
    if doc is None:
        return None
    if is_clip_document(doc.file_name, doc.mime_type):
        gif = (doc.mime_type or "").lower() == "image/gif" or _extension(doc.file_name) == "gif"
        return FileRef(doc.file_id, doc.file_unique_id, "clip", doc.file_size, gif_file=gif)
    if is_image_document(doc.file_name, doc.mime_type):
        return FileRef(doc.file_id, doc.file_unique_id, "document", doc.file_size)
    return None


def oversized(ref: FileRef) -> bool:
    """Bigger than Telegram lets a bot download (known before any download)."""
    return (ref.file_size or 0) > MAX_DOWNLOAD


async def arrival_problem(bot: Bot, ref: FileRef, pool: ArrivalPool, *,
                          as_style: bool = False) -> UserError | None:
    """Download and look now (a picture decoded small, a clip's first frame only), so
    what I can't paint is refused before any keyboard; None when it is fine. A GIF file
    that FFmpeg can't read, or of one frame, is painted as a picture: checked as one.
    The looking runs on `pool` (a few threads of its own), within the budget of the
    picture's role (`as_style`)."""
    if oversized(ref):
        return UserError(texts.TOO_BIG)
    try:
        data = await download(bot, ref)
    except UserError as exc:
        return exc
    if ref.is_clip:
        try:
            clip = await pool.run(painting.scan, data)
            if not (ref.gif_file and clip.info.still):
                return None
        except UserError as exc:
            if not ref.gif_file:
                return exc
        ref = ref.as_picture()
    try:
        await pool.run(painting.check_picture, data, as_style=as_style)
    except NstError as exc:
        log.info("picture refused on arrival (%s)", exc.code, exc_info=True)
        return picture_refusal(exc, document=ref.kind == "document")
    return None
