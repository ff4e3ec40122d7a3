"""nst.images: EXIF orientation (real phone photos and synthetic tags), draft decoding."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from nst.images import MIN_SIDE, load_image
from tests.conftest import EXIF_DIR
from tests.corpus.make_corpus import exif_bytes, insert_jpeg_segment, photo
from tests.image_asserts import assert_rgb, jpeg, mad, png, px


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
