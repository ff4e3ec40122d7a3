"""Images (Pillow) and file identifiers: what Telegram measures and keeps of a photo
(dimensions as displayed, the PhotoSize ladder, re-encoded JPEGs) and Telegram-looking ids."""
from __future__ import annotations

import base64
import hashlib
import io

PHOTO_SIDES = (90, 320, 800, 1280)         # long sides of the PhotoSize ladder
PHOTO_MAX_SIDE = 1280                      # Telegram downsizes photos to this long side


# --------------------------------------------------------------------------------------------
# Images (Pillow) and file identifiers
# --------------------------------------------------------------------------------------------

_heif_registered = False


def _open_image(data: bytes):
    global _heif_registered
    from PIL import Image

    if not _heif_registered:
        _heif_registered = True
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
        except Exception:                           # pragma: no cover - optional
            pass
    return Image.open(io.BytesIO(data))


def image_info(data: bytes) -> tuple[int, int, str, int] | None:
    """(width, height, format, EXIF orientation) of an image as displayed, or None."""
    try:
        with _open_image(data) as im:
            width, height = im.size
            fmt = im.format or ""
            try:
                orientation = int(im.getexif().get(0x0112, 1) or 1)
            except Exception:
                orientation = 1
    except Exception:
        return None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return width, height, fmt, orientation


def scale_to(width: int, height: int, side: int) -> tuple[int, int]:
    """(width, height) with the long side brought down to ``side`` (never enlarged)."""
    long_side = max(width, height)
    if side >= long_side:
        return width, height
    ratio = side / long_side
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def photo_ladder(width: int, height: int, max_side: int | None = PHOTO_MAX_SIDE
                 ) -> list[tuple[int, int]]:
    """Sizes Telegram keeps of a photo: 90/320/800/1280 long sides below the (capped) image."""
    long_side = max(width, height)
    top = min(long_side, max_side) if max_side else long_side
    sides = [s for s in PHOTO_SIDES if s < top] + [top]
    return [scale_to(width, height, s) for s in sides]


def render_jpeg(data: bytes, size: tuple[int, int] | None = None, quality: int = 85) -> bytes:
    """The image upright (EXIF applied), resized to ``size``, as a JPEG without metadata."""
    from PIL import Image, ImageOps

    with _open_image(data) as im:
        im = ImageOps.exif_transpose(im)
        im = im.convert("RGB")
        if size and im.size != size:
            im = im.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        out = io.BytesIO()
        im.save(out, "JPEG", quality=quality)
        return out.getvalue()


def placeholder_jpeg(width: int = 640, height: int = 480) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (128, 128, 128)).save(out, "JPEG", quality=70)
    return out.getvalue()


FILE_ID_PREFIX = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI",
                   "sticker": "CAACAgIAAxkBAAI", "video": "BAACAgIAAxkBAAI",
                   "voice": "AwACAgIAAxkBAAI", "audio": "CQACAgIAAxkBAAI",
                   "animation": "CgACAgIAAxkBAAI"}
EXT_BY_FORMAT = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp",
                  "TIFF": "tif", "HEIF": "heic", "MPO": "jpg"}
FOLDER_BY_KIND = {"photo": "photos", "document": "documents", "sticker": "stickers",
                   "video": "videos", "voice": "voice", "audio": "music",
                   "animation": "animations"}


def unique_id_for(file_id: str) -> str:
    """A stable, Telegram-looking file_unique_id for a file_id."""
    digest = hashlib.sha1(file_id.encode()).digest()
    return "AQAD" + base64.urlsafe_b64encode(digest).decode()[:12]
