"""nst.images: fit_max_side, format_for_path and encode_image (no metadata ever copied)."""
from __future__ import annotations

import io

import pytest
from PIL import Image, JpegImagePlugin

from nst.errors import ImageError
from nst.images import encode_image, fit_max_side, format_for_path, load_image
from tests.corpus.make_corpus import exif_bytes, icc_profile, photo
from tests.image_asserts import jpeg, mad


def test_fit_max_side() -> None:
    pic = photo(400, 300)
    assert fit_max_side(pic, 400) is pic
    assert fit_max_side(pic, 1000) is pic  # never upscales
    small = fit_max_side(pic, 200)
    assert small.size == (200, 150)
    assert mad(small, pic.resize((200, 150), Image.Resampling.LANCZOS)) < 2
    assert fit_max_side(photo(300, 400), 100).size == (75, 100)
    assert fit_max_side(photo(1000, 3), 10).size == (10, 1)
    with pytest.raises(ValueError):
        fit_max_side(pic, 0)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.jpg", "JPEG"), ("a.JPEG", "JPEG"), ("dir.x/b.jpeg", "JPEG"), ("c.png", "PNG"), ("d.WebP", "WEBP")],
)
def test_format_for_path(name: str, fmt: str) -> None:
    assert format_for_path(name) == fmt


@pytest.mark.parametrize("name", ["a.gif", "a.heic", "a", "a.jpg.txt", ".png"])
def test_format_for_path_rejects(name: str) -> None:
    with pytest.raises(ImageError) as info:
        format_for_path(name)
    assert info.value.code == "unsupported"
    for ext in (".jpg", ".jpeg", ".png", ".webp"):
        assert ext in info.value.user_message


def _metadata_in(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return {
            "exif": dict(im.getexif()),
            "info": {k for k in im.info if k in ("exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment")},
        }


def test_encode_strips_exif_and_gps_from_a_phone_photo() -> None:
    data = jpeg(photo(), exif=exif_bytes(6, gps=True), icc_profile=icc_profile(), comment=b"secret")
    with Image.open(io.BytesIO(data)) as raw:
        assert raw.getexif().get_ifd(0x8825)  # the input really carries GPS
    out = encode_image(load_image(data))
    assert out[:3] == b"\xff\xd8\xff"
    assert b"Exif\x00\x00" not in out and b"ICC_PROFILE" not in out and b"secret" not in out
    meta = _metadata_in(out)
    assert meta == {"exif": {}, "info": set()}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "jpg"])
def test_encode_never_copies_metadata_even_from_raw_images(fmt: str) -> None:
    data = jpeg(photo(), exif=exif_bytes(1, gps=True), icc_profile=icc_profile(), comment=b"secret")
    with Image.open(io.BytesIO(data)) as raw:  # a caller bypassing load_image
        raw.load()
        raw.info["xmp"] = b"<x:xmpmeta>secret</x:xmpmeta>"
        out = encode_image(raw, fmt)
    assert b"secret" not in out and b"Exif" not in out
    assert _metadata_in(out) == {"exif": {}, "info": set()}


def test_encode_jpeg_settings() -> None:
    pic = photo(256, 128)
    out = encode_image(pic)
    with Image.open(io.BytesIO(out)) as im:
        assert im.format == "JPEG" and im.size == (256, 128)
        assert JpegImagePlugin.get_sampling(im) == 2  # 4:2:0
        assert "progressive" not in im.info
        assert mad(im.convert("RGB"), pic) < 6
    assert len(encode_image(pic, quality=50)) < len(out)


def test_encode_png_and_webp() -> None:
    pic = photo(96, 64)
    out = encode_image(pic, "PNG")
    with Image.open(io.BytesIO(out)) as im:
        assert im.format == "PNG" and mad(im.convert("RGB"), pic) == 0
    out = encode_image(pic, "WEBP")
    with Image.open(io.BytesIO(out)) as im:
        assert im.format == "WEBP" and im.size == (96, 64)


def test_encode_odd_modes() -> None:
    rgba = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    with Image.open(io.BytesIO(encode_image(rgba, "JPEG"))) as im:
        assert im.mode == "RGB" and im.getpixel((5, 5))[0] > 250  # transparent -> white
    with Image.open(io.BytesIO(encode_image(rgba, "PNG"))) as im:
        assert im.mode == "RGBA"
    for mode in ("L", "P", "CMYK", "1", "I;16"):
        out = encode_image(photo(40, 40).convert(mode), "JPEG")
        assert load_image(out).size == (40, 40)


def test_encode_unknown_format() -> None:
    with pytest.raises(ImageError) as info:
        encode_image(photo(), "GIF")
    assert info.value.code == "unsupported"
