"""nst.images: every pixel mode and container format comes out as RGB."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from nst.images import load_image
from tests.corpus.make_corpus import animated, encode, photo, png_from_scanlines, strip_jpeg_segments
from tests.image_asserts import assert_rgb, check_cmyk_patches, cmyk_patches, jpeg, mad, png, px


def test_rgb_roundtrip_is_lossless_for_png() -> None:
    pic = photo(96, 64)
    img = load_image(png(pic))
    assert_rgb(img)
    assert mad(img, pic) == 0


def test_bilevel_mode_1() -> None:
    pic = photo(96, 64).convert("1")
    img = load_image(png(pic))
    assert_rgb(img)
    assert set(np.unique(px(img))) <= {0, 255}
    assert np.array_equal(px(img)[..., 0], px(pic.convert("L")))


def test_greyscale_l() -> None:
    grey = photo(96, 64).convert("L")
    img = load_image(png(grey))
    assert_rgb(img)
    a = px(img)
    assert np.array_equal(a[..., 0], px(grey)) and np.array_equal(a[..., 0], a[..., 2])


def test_greyscale_jpeg() -> None:
    img = load_image(jpeg(photo(96, 64).convert("L")))
    assert_rgb(img)
    a = px(img)
    assert np.abs(a[..., 0] - a[..., 1]).max() == 0


def test_palette_without_transparency() -> None:
    pal = photo(96, 64).quantize(8)
    img = load_image(png(pal))
    assert_rgb(img)
    assert mad(img, pal.convert("RGB")) == 0


def test_palette_with_transparency_goes_on_white() -> None:
    pal = photo(96, 64).quantize(15)
    pal.putpalette(pal.getpalette()[:45] + [0, 0, 0])  # index 15 = BLACK but transparent
    pal.paste(15, (0, 0, 40, 64))
    img = load_image(png(pal, transparency=15))
    a = px(img)
    assert (a[:, :40] == 255).all()  # white, not black
    assert mad(a[:, 40:], px(pal.convert("RGB"))[:, 40:]) == 0


def test_palette_with_alpha_table_goes_on_white() -> None:
    pal = Image.new("P", (64, 64))
    pal.putpalette([255, 0, 0, 0, 0, 255])
    pal.paste(1, (0, 0, 32, 64))
    # tRNS with per-entry alpha: entry 0 opaque red, entry 1 half-transparent blue
    img = load_image(png(pal, transparency=bytes([255, 128])))
    assert px(img)[0, 48].tolist() == [255, 0, 0]
    r, g, b = px(img)[0, 8].tolist()
    assert 120 <= r <= 135 and 120 <= g <= 135 and b == 255  # blue at 50 % over white


def test_gif_transparency_goes_on_white() -> None:
    pal = Image.new("P", (64, 64), 0)
    pal.putpalette([0, 0, 0, 0, 200, 0])
    pal.paste(1, (32, 0, 64, 64))
    img = load_image(encode(pal, "GIF", transparency=0))
    assert px(img)[5, 5].tolist() == [255, 255, 255]
    assert px(img)[5, 50].tolist() == [0, 200, 0]


@pytest.mark.parametrize("mode", ["LA", "RGBA"])
def test_alpha_is_composited_on_white(mode: str) -> None:
    base = Image.new("RGBA", (64, 64), (0, 0, 0, 255))
    alpha = Image.new("L", (64, 64), 255)
    alpha.paste(0, (0, 0, 32, 32))      # fully transparent
    alpha.paste(128, (32, 0, 64, 32))   # half
    base.putalpha(alpha)
    img = load_image(png(base.convert(mode)))
    assert_rgb(img)
    a = px(img)
    assert (a[:32, :32] == 255).all()            # transparent -> white
    assert (np.abs(a[:32, 32:] - 127) <= 2).all()  # half black over white -> mid grey
    assert (a[32:] == 0).all()                   # opaque black stays black


def test_webp_alpha_on_white() -> None:
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    rgba.paste((200, 10, 10, 255), (32, 0, 64, 64))
    img = load_image(encode(rgba, "WEBP", lossless=True))
    assert px(img)[5, 5].tolist() == [255, 255, 255]
    assert px(img)[5, 50].tolist() == [200, 10, 10]


def test_rgb_png_with_trns_color_goes_on_white() -> None:
    pic = photo(96, 64)
    pic.paste((0, 0, 0), (0, 0, 30, 64))
    img = load_image(png(pic, transparency=(0, 0, 0)))
    assert (px(img)[:, :30] == 255).all()


def test_16bit_greyscale_png_is_scaled_not_clipped() -> None:
    ramp = np.tile(np.linspace(0, 65535, 256).round().astype(np.uint16), (40, 1))
    src = Image.fromarray(ramp)
    assert src.mode == "I;16"
    data = png(src)
    with Image.open(io.BytesIO(data)) as check:
        assert check.mode.startswith("I")  # really a 16-bit PNG
    img = load_image(data)
    assert_rgb(img)
    row = px(img)[0, :, 0]
    assert row[0] == 0 and row[-1] == 255
    assert np.all(np.diff(row) >= 0)
    assert np.abs(row - np.arange(256)).max() <= 1  # proper /257 scaling
    assert (row == 255).sum() == 1  # clipping would make most of the ramp white


def test_16bit_big_endian_and_tiff() -> None:
    ramp = np.tile(np.linspace(0, 65535, 64).round().astype(np.uint16), (40, 1))
    img = load_image(encode(Image.fromarray(ramp), "TIFF"))
    row = px(img)[0, :, 0]
    assert row[0] == 0 and row[-1] == 255 and abs(int(row[32]) - 130) <= 2


def test_16bit_rgb_png() -> None:
    rows = [b"".join(np.array([x * 1024, 65535 - x * 1024, 32896], ">u2").tobytes() for x in range(64))
            for _ in range(40)]
    img = load_image(png_from_scanlines(64, 40, 16, 2, rows=rows))
    a = px(img)
    assert a[0, 0].tolist() == [0, 255, 128]
    assert abs(int(a[0, 32, 0]) - 128) <= 1 and abs(int(a[0, 32, 1]) - 127) <= 1


def test_32bit_integer_tiff() -> None:
    arr = np.tile(np.linspace(0, 65535, 64).astype(np.int32), (40, 1))
    src = Image.fromarray(arr)
    assert src.mode == "I"
    row = px(load_image(encode(src, "TIFF")))[0, :, 0]
    assert row[0] == 0 and row[-1] == 255 and np.all(np.diff(row) >= 0)


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 1.0), (-5.0, 1000.0)])
def test_float_tiff(lo: float, hi: float) -> None:
    arr = np.tile(np.linspace(lo, hi, 64).astype(np.float32), (40, 1))
    src = Image.fromarray(arr)
    assert src.mode == "F"
    row = px(load_image(encode(src, "TIFF")))[0, :, 0]
    assert row[0] == 0 and row[-1] == 255 and np.all(np.diff(row) >= 0)


def test_adobe_cmyk_jpeg_is_not_a_negative() -> None:
    data = jpeg(cmyk_patches().convert("CMYK"))
    with Image.open(io.BytesIO(data)) as raw:
        assert raw.mode == "CMYK" and "adobe" in raw.info  # inverted Adobe-style CMYK
    img = load_image(data)
    assert_rgb(img)
    check_cmyk_patches(img)


def test_plain_cmyk_jpeg_without_adobe_marker_is_not_a_negative() -> None:
    inverted = Image.eval(cmyk_patches().convert("CMYK"), lambda v: 255 - v)
    data = strip_jpeg_segments(jpeg(inverted), 0xEE)
    with Image.open(io.BytesIO(data)) as raw:
        assert raw.mode == "CMYK" and "adobe" not in raw.info
    check_cmyk_patches(load_image(data))


def test_cmyk_tiff() -> None:
    check_cmyk_patches(load_image(encode(cmyk_patches().convert("CMYK"), "TIFF")))


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_first_frame_of_animations(fmt: str) -> None:
    data = animated(fmt, colors=((220, 20, 20), (20, 200, 20), (20, 20, 220)))
    with Image.open(io.BytesIO(data)) as raw:
        assert getattr(raw, "n_frames", 1) == 3
    img = load_image(data)
    assert_rgb(img)
    r, g, b = px(img)[10, 10].tolist()
    assert r > 200 and g < 40 and b < 40


def test_apng_first_frame() -> None:
    frames = [Image.new("RGB", (48, 48), c) for c in ((10, 10, 240), (240, 10, 10))]
    data = encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)
    assert px(load_image(data))[0, 0].tolist() == [10, 10, 240]


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "WEBP"])
def test_other_formats(fmt: str) -> None:
    pic = photo(96, 64)
    kw = {"lossless": True} if fmt == "WEBP" else {}
    img = load_image(encode(pic, fmt, **kw))
    assert_rgb(img)
    assert mad(img, pic) < 1


def test_heic_round_trip() -> None:
    import pillow_heif

    pic = photo(128, 96)
    buf = io.BytesIO()
    pillow_heif.from_pillow(pic).save(buf, quality=90)
    data = buf.getvalue()
    assert data[4:12] == b"ftypheic"
    img = load_image(data)
    assert_rgb(img)
    assert img.size == (128, 96)
    assert mad(img, pic) < 8
    assert load_image(data, draft_side=40).size == (128, 96)  # draft is a JPEG-only trick


def test_heic_with_alpha_goes_on_white() -> None:
    import pillow_heif

    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    rgba.paste((0, 0, 0, 255), (32, 0, 64, 64))
    buf = io.BytesIO()
    pillow_heif.from_pillow(rgba).save(buf, quality=95)
    a = px(load_image(buf.getvalue()))
    assert a[10, 5].min() > 230 and a[10, 58].max() < 30
