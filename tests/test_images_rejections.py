"""nst.images: what load_image refuses (non-images, truncation, bombs, sizes) and how."""
from __future__ import annotations

import io
import threading
import warnings
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageFile

from nst import images
from nst.errors import ImageError
from nst.images import MAX_PIXELS, load_image
from tests.corpus.make_corpus import encode, noise, photo, png_from_scanlines
from tests.image_asserts import jpeg, png, rejected


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
