"""nst.images: intake (load_image), resizing, encoding, and nst.errors."""
from __future__ import annotations

import io
import pickle
import threading
import warnings
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile, JpegImagePlugin

from nst import images
from nst.errors import ImageError, ModelError, NstError, StyleNotFound
from nst.images import MAX_PIXELS, MIN_SIDE, encode_image, fit_max_side, format_for_path, load_image
from tests.conftest import EXIF_DIR
from tests.corpus.make_corpus import (
    SRGB_COLORANTS,
    animated,
    encode,
    exif_bytes,
    icc_profile,
    insert_jpeg_segment,
    noise,
    photo,
    png_from_scanlines,
    strip_jpeg_segments,
)


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


# --------------------------------------------------------------------------- #
# EXIF orientation on the real test photos
# --------------------------------------------------------------------------- #


def _small(img: Image.Image) -> np.ndarray:
    """Quarter size (box filter): compares pictures, not JPEG re-encoding noise."""
    return px(img.reduce(4))


@pytest.fixture(scope="module")
def landscape_0() -> Image.Image:
    return load_image(EXIF_DIR / "Landscape_0.jpg")


@pytest.mark.parametrize("n", range(9))
def test_exif_orientations_all_give_the_same_picture(n: int, landscape_0: Image.Image) -> None:
    img = load_image(EXIF_DIR / f"Landscape_{n}.jpg")
    assert_rgb(img)
    assert img.size == landscape_0.size == (1800, 1200)
    assert mad(_small(img), _small(landscape_0)) < 3
    # the comparison can tell orientations apart: any other transposition is far off
    for method in Image.Transpose:
        wrong = img.transpose(method)
        if wrong.size == landscape_0.size:
            assert mad(_small(wrong), _small(landscape_0)) > 20


def test_landscape_0_has_bogus_orientation_zero() -> None:
    with Image.open(EXIF_DIR / "Landscape_0.jpg") as raw:
        assert raw.getexif().get(0x0112) == 0


@pytest.mark.parametrize("n", [0, 3, 6, 8])
@pytest.mark.parametrize("draft_side", [300, 500, 1000])
def test_draft_side_keeps_long_side_and_orientation(n: int, draft_side: int, landscape_0: Image.Image) -> None:
    img = load_image(EXIF_DIR / f"Landscape_{n}.jpg", draft_side=draft_side)
    assert_rgb(img)
    assert draft_side <= max(img.size) <= 1800
    assert img.width > img.height  # still upright landscape
    assert img.width * 1200 == img.height * 1800  # exact power-of-two scale here
    reference = landscape_0.resize(img.size, Image.Resampling.BOX)
    assert mad(img, reference) < 6


def test_draft_side_actually_reduces_big_jpegs() -> None:
    img = load_image(EXIF_DIR / "Landscape_0.jpg", draft_side=200)
    assert img.size == (225, 150)  # 1/8 scale, long side 225 >= 200


def test_draft_side_never_takes_the_short_side_under_min_side() -> None:
    data = jpeg(photo(1000, 100))  # 10:1
    img = load_image(data, draft_side=50)
    assert max(img.size) >= 50 and min(img.size) >= MIN_SIDE


@pytest.mark.parametrize("draft_side", [None, 64, 5000])
def test_draft_side_is_ignored_when_useless(draft_side) -> None:
    assert load_image(png(photo(200, 100)), draft_side=draft_side).size == (200, 100)
    assert load_image(jpeg(photo(200, 100)), draft_side=5000).size == (200, 100)


def test_draft_side_must_be_positive() -> None:
    with pytest.raises(ValueError):
        load_image(jpeg(photo()), draft_side=0)


@pytest.mark.parametrize("orientation", [0, 9, 255, 1])
def test_bogus_orientation_values_mean_upright(orientation: int) -> None:
    pic = photo(96, 64)
    img = load_image(jpeg(pic, exif=exif_bytes(orientation)))
    assert img.size == (96, 64)
    assert mad(img, pic) < 6


@pytest.mark.parametrize(
    ("orientation", "method"),
    [(2, Image.Transpose.FLIP_LEFT_RIGHT), (3, Image.Transpose.ROTATE_180),
     (4, Image.Transpose.FLIP_TOP_BOTTOM), (5, Image.Transpose.TRANSPOSE),
     (6, Image.Transpose.ROTATE_270), (7, Image.Transpose.TRANSVERSE),
     (8, Image.Transpose.ROTATE_90)],
)
def test_valid_orientations_are_applied(orientation: int, method) -> None:
    pic = photo(96, 64)
    # store the picture the way a camera would: pixels as sensed + a tag saying how to fix them
    inverse = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}.get(orientation, method)
    stored = pic.transpose(inverse)
    img = load_image(jpeg(stored, exif=exif_bytes(orientation)))
    assert img.size == pic.size
    assert mad(img, pic) < 6


def test_orientation_from_png_exif_chunk() -> None:
    pic = photo(96, 64)
    img = load_image(png(pic.transpose(Image.Transpose.ROTATE_90), exif=exif_bytes(6)))
    assert mad(img, pic) == 0


@pytest.mark.parametrize(
    "payload",
    [
        b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\xff\xff\x01\x12\x00\x03" + bytes(range(40)),  # huge IFD count
        b"Exif\x00\x00XX\x2a\x00\xff\xff\xff\xf0" + bytes(64),  # not a TIFF header
        b"Exif\x00\x00MM\x00\x2a\x7f\xff\xff\xf0",  # IFD offset past the end
        b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x10\x00\x7f\xff\xff\xf0",
        b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x02\x00\x04\x00\x00\x00abc\x00",  # ASCII orientation
        b"Exif\x00\x00",  # empty
    ],
)
def test_corrupt_exif_is_ignored(payload: bytes) -> None:
    pic = photo(96, 64)
    data = insert_jpeg_segment(jpeg(pic), 0xE1, payload)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even a warning may turn into an error
        img = load_image(data)
    assert img.size == (96, 64)
    assert mad(img, pic) < 6


# --------------------------------------------------------------------------- #
# Mode conversions
# --------------------------------------------------------------------------- #


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


def test_rgb_png_with_trns_colour_goes_on_white() -> None:
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


def _cmyk_patches() -> Image.Image:
    rgb = Image.new("RGB", (64, 64), (255, 255, 255))  # white top-left
    rgb.paste((0, 0, 0), (32, 0, 64, 32))               # black top-right
    rgb.paste((230, 30, 30), (0, 32, 32, 64))           # red bottom-left
    rgb.paste((30, 60, 220), (32, 32, 64, 64))          # blue bottom-right
    return rgb


def _check_patches(img: Image.Image) -> None:
    a = px(img)
    assert a[8, 8].min() >= 235, a[8, 8]          # white stays white: not a negative
    assert a[8, 48].max() <= 25, a[8, 48]         # black stays black
    r, g, b = a[48, 8].tolist()
    assert r > 180 and g < 80 and b < 80          # red stays red (negative = cyan)
    r, g, b = a[48, 48].tolist()
    assert b > 160 and r < 90                     # blue stays blue


def test_adobe_cmyk_jpeg_is_not_a_negative() -> None:
    data = jpeg(_cmyk_patches().convert("CMYK"))
    with Image.open(io.BytesIO(data)) as raw:
        assert raw.mode == "CMYK" and "adobe" in raw.info  # inverted Adobe-style CMYK
    img = load_image(data)
    assert_rgb(img)
    _check_patches(img)


def test_plain_cmyk_jpeg_without_adobe_marker_is_not_a_negative() -> None:
    inverted = Image.eval(_cmyk_patches().convert("CMYK"), lambda v: 255 - v)
    data = strip_jpeg_segments(jpeg(inverted), 0xEE)
    with Image.open(io.BytesIO(data)) as raw:
        assert raw.mode == "CMYK" and "adobe" not in raw.info
    _check_patches(load_image(data))


def test_cmyk_tiff() -> None:
    _check_patches(load_image(encode(_cmyk_patches().convert("CMYK"), "TIFF")))


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_first_frame_of_animations(fmt: str) -> None:
    data = animated(fmt, colours=((220, 20, 20), (20, 200, 20), (20, 20, 220)))
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


# --------------------------------------------------------------------------- #
# ICC profiles
# --------------------------------------------------------------------------- #

SWAPPED = (SRGB_COLORANTS[2], SRGB_COLORANTS[1], SRGB_COLORANTS[0])  # red <-> blue


def _rgb_patches() -> Image.Image:
    img = Image.new("RGB", (64, 64), (255, 0, 0))
    img.paste((0, 0, 255), (32, 0, 64, 64))
    return img


def test_icc_profile_is_converted_to_srgb() -> None:
    # a profile whose "red" is sRGB blue and vice versa: unmistakable if applied
    img = load_image(png(_rgb_patches(), icc_profile=icc_profile(SWAPPED, description="swapped")))
    r, g, b = px(img)[10, 10].tolist()
    assert b > 230 and r < 30 and g < 30
    r, g, b = px(img)[10, 50].tolist()
    assert r > 230 and g < 30 and b < 30


def test_display_p3_matches_littlecms() -> None:
    pic = photo(96, 64)
    profile = icc_profile()  # Display P3 primaries
    img = load_image(png(pic, icc_profile=profile))
    expected = ImageCms.profileToProfile(
        pic, ImageCms.ImageCmsProfile(io.BytesIO(profile)), ImageCms.createProfile("sRGB"),
        outputMode="RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL,
    )
    assert mad(img, expected) < 1
    assert mad(img, pic) > 3  # and it did change something: P3 red is redder than sRGB red


def test_icc_with_alpha_keeps_transparency() -> None:
    rgba = _rgb_patches().convert("RGBA")
    rgba.paste((255, 0, 0, 0), (0, 0, 16, 64))
    img = load_image(png(rgba, icc_profile=icc_profile(SWAPPED, description="swapped")))
    assert px(img)[5, 5].tolist() == [255, 255, 255]
    assert px(img)[5, 20].tolist()[2] > 230


def test_srgb_profile_is_a_no_op() -> None:
    pic = photo(96, 64)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert mad(load_image(png(pic, icc_profile=srgb)), pic) == 0


def test_huge_icc_profile_is_ignored() -> None:
    huge = icc_profile(SWAPPED, description="swapped", pad_to=1_500_000)
    assert len(huge) > images.MAX_ICC_BYTES
    pic = _rgb_patches()
    data = jpeg(pic, icc_profile=huge)
    with Image.open(io.BytesIO(data)) as raw:
        assert len(raw.info["icc_profile"]) == 1_500_000  # survived the APP2 split
    img = load_image(data)
    assert mad(img, load_image(jpeg(pic))) == 0  # not swapped: the profile was not applied


@pytest.mark.parametrize(
    "profile",
    [
        b"\x00" * 200,
        icc_profile()[:128] + bytes(range(256)) * 2,  # good header, junk tags
        icc_profile()[:100],                           # too short
        icc_profile().replace(b"RGB ", b"CMYK", 1),     # wrong colour space for the pixels
        icc_profile().replace(b"rXYZ", b"zzzz"),       # missing colorant
    ],
)
def test_broken_icc_profiles_are_ignored(profile: bytes) -> None:
    pic = photo(96, 64)
    assert mad(load_image(png(pic, icc_profile=profile)), pic) == 0


def test_cmyk_jpeg_with_broken_icc_profile() -> None:
    data = jpeg(_cmyk_patches().convert("CMYK"), icc_profile=icc_profile())  # RGB profile on CMYK
    _check_patches(load_image(data))


# --------------------------------------------------------------------------- #
# Rejections
# --------------------------------------------------------------------------- #


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "hello")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        pytest.param(b"", "empty", id="empty"),
        pytest.param(bytearray(), "empty", id="empty-bytearray"),
        pytest.param(b"hello world\n" * 50, "not_image", id="text"),
        pytest.param(b"   ", "not_image", id="spaces"),
        pytest.param(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "not_image", id="pdf"),
        pytest.param(_zip(), "not_image", id="zip"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "not_image", id="svg"),
        pytest.param(b"<!DOCTYPE html><html><body>hi</body></html>", "not_image", id="html"),
        pytest.param(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n", "not_image", id="eps"),
        pytest.param(b"P6\n64 64\n255\n" + bytes(64 * 64 * 3), "not_image", id="ppm-not-accepted"),
        pytest.param(bytes(np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8)), "not_image",
                     id="random"),
        pytest.param(b"\xff\xd8\xff", "corrupt", id="jpeg-magic-only"),
        pytest.param(b"GIF89a\x00", "corrupt", id="gif-magic-only"),
        pytest.param(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "corrupt", id="webp-magic-only"),
        pytest.param(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "corrupt", id="heic-magic-only"),
    ],
)
def test_rejects_non_images(data: bytes, code: str) -> None:
    rejected(data, code)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP"])
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_rejects_truncated(fmt: str, keep: float) -> None:
    src = noise(160, 120)
    if fmt == "GIF":
        src = src.convert("P")
    data = encode(src, fmt)
    err = rejected(data[: int(len(data) * keep)], "corrupt")
    assert err.__cause__ is not None  # original Pillow error chained


def test_rejects_png_with_bad_crc() -> None:
    data = bytearray(png(noise(64, 64)))
    idat = data.find(b"IDAT")
    data[idat + 20] ^= 0xFF
    rejected(bytes(data), "corrupt")


def test_too_big_is_checked_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decoding(self, *a, **k):
        raise AssertionError("decoded pixels of an over-limit image")

    data = png_from_scanlines(7072, 7072, 1, 0, row=bytes(884))  # 50.01 MP
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    err = rejected(data, "too_big")
    assert "50 megapixels" in err.user_message


def test_max_pixels_parameter() -> None:
    data = png(photo(100, 100))
    rejected(data, "too_big", max_pixels=9_999)
    assert load_image(data, max_pixels=10_000).size == (100, 100)


@pytest.mark.parametrize(
    ("side", "max_pixels"),
    [(30000, MAX_PIXELS), (10000, MAX_PIXELS), (10000, 200_000_000), (14000, 500_000_000)],
)
def test_decompression_bombs(side: int, max_pixels: int) -> None:
    """Pillow's own DecompressionBombError / Warning also end as too_big."""
    before = Image.MAX_IMAGE_PIXELS
    data = png_from_scanlines(side, side, 1, 0, row=bytes(side // 8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rejected(data, "too_big", max_pixels=max_pixels)
    assert Image.MAX_IMAGE_PIXELS == before


def test_global_state_untouched() -> None:
    before_pixels = Image.MAX_IMAGE_PIXELS
    before_filters = list(warnings.filters)
    before_truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    load_image(jpeg(photo()))
    with pytest.raises(ImageError):
        load_image(png_from_scanlines(10000, 10000, 1, 0, row=bytes(1250)))
    assert Image.MAX_IMAGE_PIXELS == before_pixels
    assert warnings.filters == before_filters
    assert ImageFile.LOAD_TRUNCATED_IMAGES == before_truncated


@pytest.mark.parametrize("size", [(31, 100), (100, 31), (16, 16), (1, 20000), (20000, 1)])
def test_too_small(size) -> None:
    rejected(png(Image.new("L", size, 128)), "too_small")


@pytest.mark.parametrize(("size", "ok"), [((672, 32), False), ((32, 672), False), ((641, 32), False),
                                          ((640, 32), True), ((608, 32), True), ((32, 32), True)])
def test_aspect_ratio(size, ok: bool) -> None:
    data = png(photo(*size))
    if ok:
        assert load_image(data).size == size
    else:
        rejected(data, "bad_ratio")


def test_unexpected_pillow_errors_become_corrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(self, *a, **k):
        raise RuntimeError("codec exploded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", explode)
    err = rejected(jpeg(photo()), "corrupt")
    assert isinstance(err.__cause__, RuntimeError)


def test_unexpected_open_errors_become_corrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*a, **k):
        raise ValueError("weird")

    monkeypatch.setattr(Image, "open", explode)
    err = rejected(jpeg(photo()), "corrupt")
    assert isinstance(err.__cause__, ValueError)


def test_paths(tmp_path) -> None:
    good = tmp_path / "ok.jpg"
    good.write_bytes(jpeg(photo()))
    assert load_image(good).size == (96, 64)
    assert load_image(str(good)).size == (96, 64)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    rejected(empty, "empty")
    rejected(tmp_path / "missing.jpg", "unreadable")
    rejected(tmp_path, "unreadable")  # a directory


def test_memoryview_and_bytearray() -> None:
    data = jpeg(photo())
    assert load_image(bytearray(data)).size == (96, 64)
    assert load_image(memoryview(data)).size == (96, 64)


def test_wrong_argument_type() -> None:
    with pytest.raises(TypeError):
        load_image(12345)  # type: ignore[arg-type]


def test_concurrent_first_use_registers_once_and_works() -> None:
    import pillow_heif

    buf = io.BytesIO()
    pillow_heif.from_pillow(photo(64, 48)).save(buf, quality=80)
    inputs = [buf.getvalue(), jpeg(photo()), png(photo()), b"junk" * 10] * 4
    images._open_formats = None  # simulate a fresh process
    results: list = [None] * len(inputs)
    barrier = threading.Barrier(len(inputs))

    def work(i: int) -> None:
        barrier.wait()
        try:
            results[i] = load_image(inputs[i]).size
        except ImageError as exc:
            results[i] = exc.code

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [(64, 48), (96, 64), (96, 64), "not_image"] * 4
    assert "HEIF" in images._formats()
    assert images._formats() is images._formats()


# --------------------------------------------------------------------------- #
# fit_max_side / format_for_path / encode_image
# --------------------------------------------------------------------------- #


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


# --------------------------------------------------------------------------- #
# nst.errors
# --------------------------------------------------------------------------- #


def test_error_classes() -> None:
    err = NstError("Friendly sentence.", code="x", detail="tech")
    assert str(err) == "Friendly sentence." and err.user_message == "Friendly sentence."
    assert err.code == "x" and err.detail == "tech"
    assert NstError("m").code == "error"
    assert issubclass(ImageError, NstError) and issubclass(StyleNotFound, NstError)
    assert issubclass(ModelError, NstError)
    assert StyleNotFound("nope").code == "style_not_found"
    assert ModelError("broken").code == "model"
    assert ImageError("bad", code="corrupt").code == "corrupt"
    for cls in (NstError, ImageError, StyleNotFound, ModelError):
        assert cls().user_message  # every class has a friendly default
    clone = pickle.loads(pickle.dumps(ImageError("bad", code="too_big", detail="d")))
    assert (type(clone), clone.user_message, clone.code, clone.detail) == (ImageError, "bad", "too_big", "d")
