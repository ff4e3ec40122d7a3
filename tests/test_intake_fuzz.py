"""Fuzz load_image with mutated real JPEGs / PNGs: an RGB image or an ImageError, nothing else."""
from __future__ import annotations

import functools
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from nst.errors import ImageError
from nst.images import load_image
from tests.conftest import EXIF_DIR
from tests.corpus.make_corpus import encode, exif_bytes, icc_profile, noise, photo

CODES = {"empty", "not_image", "corrupt", "too_big", "too_small", "bad_ratio"}


@functools.cache
def seeds() -> tuple[bytes, ...]:
    pic = photo(64, 48)
    rgba = pic.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(pic.size))
    pal = pic.quantize(15)
    grey16 = Image.fromarray(np.asarray(pic.convert("L")).astype(np.uint16) * 257)
    return (
        encode(pic, "JPEG", quality=85, exif=exif_bytes(6, gps=True), icc_profile=icc_profile()),
        encode(pic, "JPEG", quality=70, progressive=True),
        encode(pic.convert("CMYK"), "JPEG", quality=80),
        encode(pic.convert("L"), "JPEG", quality=80, subsampling=0),
        encode(noise(40, 40), "JPEG", quality=90),
        encode(pic, "PNG"),
        encode(rgba, "PNG", icc_profile=icc_profile(), exif=exif_bytes(3)),
        encode(pal, "PNG", transparency=3),
        encode(grey16, "PNG"),
        encode(pic.convert("1"), "PNG"),
        (EXIF_DIR / "Landscape_5.jpg").read_bytes(),
    )


def _png_chunks(data: bytes) -> list[tuple[int, int]] | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    spans, pos = [], 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        end = pos + 12 + length
        if end > len(data):
            break
        spans.append((pos, end))
        pos = end
    return spans


def _jpeg_segments(data: bytes) -> list[tuple[int, int]] | None:
    if not data.startswith(b"\xff\xd8"):
        return None
    spans, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] != 0xDA:
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        end = pos + 2 + length
        if end > len(data):
            break
        spans.append((pos, end))
        pos = end
    return spans


def _swap(data: bytes, spans: list[tuple[int, int]], i: int, j: int) -> bytes:
    (a0, a1), (b0, b1) = sorted((spans[i], spans[j]))
    return data[:a0] + data[b0:b1] + data[a1:b0] + data[a0:a1] + data[b1:]


INTERESTING = [b"\x00", b"\xff", b"\x7f", b"\x80", b"\x00\x00", b"\xff\xff", b"\x7f\xff\xff\xff",
               b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x00\x01", b"\x80\x00"]


@st.composite
def mutated(draw) -> bytes:
    data = draw(st.sampled_from(seeds()))
    for _ in range(draw(st.integers(1, 4))):
        n = len(data)
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "overwrite", "swap", "header"]))
        pos = draw(st.integers(0, max(0, n - 1)))
        if op == "flip" and n:
            bit = draw(st.integers(0, 7))
            data = data[:pos] + bytes([data[pos] ^ (1 << bit)]) + data[pos + 1:]
        elif op == "truncate":
            data = data[:pos]
        elif op == "insert":
            data = data[:pos] + draw(st.binary(min_size=1, max_size=64)) + data[pos:]
        elif op == "delete":
            data = data[:pos] + data[pos + draw(st.integers(1, 256)):]
        elif op == "overwrite":
            value = draw(st.sampled_from(INTERESTING))
            data = data[:pos] + value + data[pos + len(value):]
        elif op == "header" and n:
            # the first few hundred bytes hold sizes, tables and metadata: hit them harder
            pos = draw(st.integers(0, min(n, 400) - 1))
            value = draw(st.sampled_from(INTERESTING))
            data = data[:pos] + value + data[pos + len(value):]
        elif op == "swap":
            spans = _png_chunks(data) or _jpeg_segments(data)
            if spans and len(spans) >= 2:
                i = draw(st.integers(0, len(spans) - 1))
                j = draw(st.integers(0, len(spans) - 1))
                if i != j:
                    data = _swap(data, spans, i, j)
            elif n > 8:
                a = draw(st.integers(0, n - 4))
                b = draw(st.integers(0, n - 4))
                size = draw(st.integers(1, max(1, min(64, n - max(a, b)))))
                if abs(a - b) >= size:
                    spans = [(a, a + size), (b, b + size)]
                    data = _swap(data, spans, 0, 1)
    return data


@pytest.fixture(scope="module")
def fuzz_file(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("fuzz") / "input.bin"


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=mutated(), draft_side=st.sampled_from([None, None, 48, 500]), as_bytes=st.booleans())
def test_mutated_images_never_crash(data: bytes, draft_side, as_bytes: bool, fuzz_file) -> None:
    if as_bytes:
        source = data
    else:
        source = fuzz_file
        source.write_bytes(data)
    try:
        img = load_image(source, draft_side=draft_side)
    except ImageError as exc:
        assert exc.code in CODES, (exc.code, exc.detail)
        assert exc.user_message
        return
    assert isinstance(img, Image.Image)
    assert img.mode == "RGB"
    assert min(img.size) >= 1
    img.getpixel((img.width - 1, img.height - 1))


def test_seeds_are_valid() -> None:
    for data in seeds():
        assert load_image(data).mode == "RGB"


@pytest.mark.parametrize("cut", [1, 2, 3, 10, 100, 200])
def test_every_seed_cut_short(cut: int) -> None:
    for data in seeds():
        with pytest.raises(ImageError) as info:
            load_image(data[:cut])
        assert info.value.code in {"corrupt", "not_image"}
