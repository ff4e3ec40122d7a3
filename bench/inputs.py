"""Benchmark inputs: content photos at the sizes we need, the preset style, model paths."""
from __future__ import annotations

import functools
import io
import json

from PIL import Image

from bench.measure import REPO

CONTENT_PHOTO = REPO / "tests" / "data" / "exif" / "Landscape_0.jpg"   # 1800×1200 landscape
MODEL_DIR = REPO / "nst" / "data" / "models"
STYLES_DIR = REPO / "nst" / "data" / "styles"
PRESET = "starry_night"
# The naive baselines paint at the output's full resolution: engine rows that are compared
# with them use the brush that does the same work (bench/cases_brush.py has the others).
BRUSH = "fine"


@functools.lru_cache(maxsize=8)
def content(long_side: int) -> Image.Image:
    """The test photo, upright RGB, resized (up or down) so its long side is ``long_side``."""
    from PIL import ImageOps

    with Image.open(CONTENT_PHOTO) as im:
        img = ImageOps.exif_transpose(im).convert("RGB")
    w, h = img.size
    scale = long_side / max(w, h)
    return img.resize((max(4, round(w * scale)), max(4, round(h * scale))), Image.LANCZOS)


def content_jpeg(long_side: int, quality: int = 90) -> bytes:
    """The test photo at ``long_side`` px as JPEG bytes (what Telegram would send)."""
    buf = io.BytesIO()
    content(long_side).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def fresh_copies(long_side: int, n: int) -> list[Image.Image]:
    """``n`` copies of the test photo, each with its top-left 8×8 block a different grey: a
    new photo to the face detector's memory (``nst.subjects.REMEMBER``) every time."""
    out = []
    for i in range(n):
        img = content(long_side).copy()
        img.paste((i % 256, (i * 7) % 256, (i * 13) % 256), (0, 0, 8, 8))
        out.append(img)
    return out


def fresh_jpegs(long_side: int, n: int, quality: int = 90) -> list[bytes]:
    """``fresh_copies`` as JPEG bytes: every user in a bench sends a photo not seen before."""
    jpegs = []
    for img in fresh_copies(long_side, n):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        jpegs.append(buf.getvalue())
    return jpegs


@functools.lru_cache(maxsize=4)
def preset_image(preset_id: str = PRESET) -> Image.Image:
    """The preset's painting read straight from the styles folder (what the naive code did)."""
    manifest = json.loads((STYLES_DIR / "manifest.json").read_text(encoding="utf-8"))
    ids = {entry["id"] for entry in manifest}
    if preset_id not in ids:
        raise KeyError(preset_id)
    path = next(STYLES_DIR.glob(f"{preset_id}.*"))
    with Image.open(path) as im:
        return im.convert("RGB")


#: Eight aspect ratios (w:h) users send: phone landscape/portrait, wide, square, panorama.
ASPECTS = ((4, 3), (3, 4), (16, 9), (9, 16), (1, 1), (3, 2), (2, 3), (21, 9))


@functools.lru_cache(maxsize=32)
def content_aspect(long_side: int, aspect: tuple[int, int]) -> Image.Image:
    """The test photo centre-cropped to ``aspect`` (w, h), long side ``long_side``."""
    img = content(max(long_side, 1800))
    w, h = img.size
    aw, ah = aspect
    cw, ch = (w, round(w * ah / aw)) if w * ah <= h * aw else (round(h * aw / ah), h)
    left, top = (w - cw) // 2, (h - ch) // 2
    img = img.crop((left, top, left + cw, top + ch))
    scale = long_side / max(cw, ch)
    return img.resize((max(4, round(cw * scale)), max(4, round(ch * scale))), Image.LANCZOS)


def aspect_jpegs(long_side: int, quality: int = 90) -> list[bytes]:
    """One JPEG per aspect ratio in ``ASPECTS`` at ``long_side`` px."""
    out = []
    for aspect in ASPECTS:
        buf = io.BytesIO()
        content_aspect(long_side, aspect).save(buf, "JPEG", quality=quality)
        out.append(buf.getvalue())
    return out
