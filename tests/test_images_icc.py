"""nst.images: embedded ICC profiles are converted to sRGB; broken ones ignored."""
from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms

from nst import images
from nst.images import load_image
from tests.corpus.make_corpus import SRGB_COLORANTS, icc_profile, photo
from tests.image_asserts import check_cmyk_patches, cmyk_patches, jpeg, mad, png, px


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
    data = jpeg(cmyk_patches().convert("CMYK"), icc_profile=icc_profile())  # RGB profile on CMYK
    check_cmyk_patches(load_image(data))
