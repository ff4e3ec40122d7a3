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
