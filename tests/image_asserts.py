"""Small checks shared by the tests of nst.images (tests/test_images_*.py)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFile

from nst.errors import ImageError
from nst.images import load_image
from tests.corpus.make_corpus import encode


def px(img: Image.Image) -> np.ndarray:
    return np.asarray(img).astype(np.int32)


def mad(a: Image.Image | np.ndarray, b: Image.Image | np.ndarray) -> float:
    """Mean absolute pixel difference."""
    a = px(a) if isinstance(a, Image.Image) else a
    b = px(b) if isinstance(b, Image.Image) else b
    assert a.shape == b.shape
    return float(np.abs(a - b).mean())


def jpeg(img: Image.Image, **kw) -> bytes:
    kw.setdefault("quality", 95)
    return encode(img, "JPEG", **kw)


def png(img: Image.Image, **kw) -> bytes:
    return encode(img, "PNG", **kw)


def rejected(source, code: str, **kw) -> ImageError:
    with pytest.raises(ImageError) as info:
        load_image(source, **kw)
    err = info.value
    assert err.code == code, (err.code, err.detail)
    assert err.user_message and str(err) == err.user_message
    assert "\n" not in err.user_message
    return err


def assert_rgb(img: Image.Image) -> None:
    assert isinstance(img, Image.Image)
    assert img.mode == "RGB"
    assert not isinstance(img, ImageFile.ImageFile)  # a plain, fully loaded image
    assert img.info == {}
    img.getpixel((0, 0))


def cmyk_patches() -> Image.Image:
    """Four patches (white, black, red, blue) to convert to CMYK."""
    rgb = Image.new("RGB", (64, 64), (255, 255, 255))  # white top-left
    rgb.paste((0, 0, 0), (32, 0, 64, 32))               # black top-right
    rgb.paste((230, 30, 30), (0, 32, 32, 64))           # red bottom-left
    rgb.paste((30, 60, 220), (32, 32, 64, 64))          # blue bottom-right
    return rgb


def check_cmyk_patches(img: Image.Image) -> None:
    """`cmyk_patches` came back with its colours, not as a negative."""
    a = px(img)
    assert a[8, 8].min() >= 235, a[8, 8]          # white stays white: not a negative
    assert a[8, 48].max() <= 25, a[8, 48]         # black stays black
    r, g, b = a[48, 8].tolist()
    assert r > 180 and g < 80 and b < 80          # red stays red (negative = cyan)
    r, g, b = a[48, 48].tolist()
    assert b > 160 and r < 90                     # blue stays blue
