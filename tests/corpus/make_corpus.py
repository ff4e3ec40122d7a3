"""Generate the bad-input corpus: every kind of file a user (or a stranger) may send.

Nothing is committed: all files are generated, deterministically, in well under a
second or two.  Each :class:`Case` says what ``nst.images.load_image`` must do
with the file: ``"ok"`` (an RGB image comes back) or the ``ImageError.code``.

    python -m tests.corpus.make_corpus OUT_DIR     # writes the files, prints a TSV

Other suites (CLI, webhook) feed the same corpus through their own entry points,
so case names, file names and expectations are meant to stay stable.
"""
from __future__ import annotations

import io
import random
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

OK = "ok"
SEED = 20240611


@dataclass(frozen=True)
class Case:
    name: str     # stable identifier, also the file stem
    path: Path    # the generated file
    expect: str   # "ok" or the ImageError code load_image must raise


# --------------------------------------------------------------------------- #
# Small builders (also imported by the tests)
# --------------------------------------------------------------------------- #


def photo(width: int = 96, height: int = 64, seed: int = 0) -> Image.Image:
    """A deterministic, colourful RGB test picture (smooth gradients + a bit of texture)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 255 * x / max(1, width - 1)
    g = 255 * y / max(1, height - 1)
    b = 128 + 100 * np.sin((x + y) / 7.0)
    arr = np.stack([r, g, b], axis=-1) + rng.normal(0, 6, (height, width, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def noise(width: int, height: int, seed: int = 1) -> Image.Image:
    """Incompressible RGB noise (makes IDAT / scan data long, for truncation cases)."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def png_from_scanlines(width: int, height: int, bit_depth: int, color_type: int,
                       row: bytes | None = None, rows: list[bytes] | None = None) -> bytes:
    """Write a PNG by hand (zlib only).

    Either ``rows`` (unfiltered scanlines) or one ``row`` repeated ``height``
    times.  A repeated row is compressed once per block after a full flush, so a
    30000×30000 "bomb" costs milliseconds and a few dozen MB never exist in memory.
    """
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    if rows is not None:
        idat = zlib.compress(b"".join(b"\x00" + r for r in rows), 9)
    else:
        assert row is not None
        line = b"\x00" + row
        per_block = max(1, min(height, (4 << 20) // len(line)))
        block = line * per_block
        full_blocks, rest = divmod(height, per_block)
        comp = zlib.compressobj(9)
        head = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
        # After a full flush the compressor forgets its history, so every
        # further identical block compresses to the same bytes.
        again = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
        parts = [head] + [again] * (full_blocks - 1)
        adler = 1
        for _ in range(full_blocks):
            adler = zlib.adler32(block, adler)
        if rest:
            tail = line * rest
            parts.append(comp.compress(tail))
            adler = zlib.adler32(tail, adler)
        parts.append(comp.flush())
        stream = b"".join(parts)
        # compressobj's own trailer has the Adler-32 of what it actually saw
        # (two blocks); replace it with the checksum of the whole logical stream.
        idat = stream[:-4] + struct.pack(">I", adler)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def insert_jpeg_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """Insert an APPn/COM segment right after SOI (and after a JFIF APP0, if any)."""
    assert jpeg[:2] == b"\xff\xd8"
    pos = 2
    if jpeg[2:4] == b"\xff\xe0":
        pos = 4 + struct.unpack(">H", jpeg[4:6])[0]
    seg = bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:pos] + seg + jpeg[pos:]


def strip_jpeg_segments(jpeg: bytes, marker: int) -> bytes:
    """Remove every segment with the given marker (before the scan data)."""
    out = bytearray(jpeg[:2])
    pos = 2
    while pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF:
        m = jpeg[pos + 1]
        if m == 0xDA:  # start of scan: copy the rest verbatim
            break
        length = struct.unpack(">H", jpeg[pos + 2:pos + 4])[0]
        if m != marker:
            out += jpeg[pos:pos + 2 + length]
        pos += 2 + length
    out += jpeg[pos:]
    return bytes(out)


# D50-adapted colorants (what ICC matrix/TRC profiles store).
SRGB_COLORANTS = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))
P3_COLORANTS = ((0.5151, 0.2412, -0.0011), (0.2920, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841))
D50 = (0.9642, 1.0, 0.8249)


def icc_profile(colorants=P3_COLORANTS, gamma: float = 2.2,
                description: str = "Display P3 (test)", pad_to: int = 0) -> bytes:
    """A minimal, valid ICC v2 RGB matrix/TRC display profile, built by hand.

    ``pad_to`` pads the profile with zeros to that many bytes (a "huge" profile
    that is still perfectly parsable).
    """
    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(v) -> bytes:
        return b"XYZ \x00\x00\x00\x00" + b"".join(s15(c) for c in v)

    ascii_desc = description.encode("ascii") + b"\x00"
    desc = (b"desc\x00\x00\x00\x00" + struct.pack(">I", len(ascii_desc)) + ascii_desc
            + b"\x00" * 4 + b"\x00" * 4 + b"\x00\x00" + b"\x00" + b"\x00" * 67)
    cprt = b"text\x00\x00\x00\x00" + b"No copyright, test data\x00"
    curve = b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, round(gamma * 256))
    tags = [
        (b"desc", desc), (b"cprt", cprt), (b"wtpt", xyz(D50)),
        (b"rXYZ", xyz(colorants[0])), (b"gXYZ", xyz(colorants[1])), (b"bXYZ", xyz(colorants[2])),
        (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
    ]
    table_len = 4 + 12 * len(tags)
    offset = 128 + table_len
    table = struct.pack(">I", len(tags))
    body = b""
    for sig, data in tags:
        while (offset + len(body)) % 4:
            body += b"\x00"
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    while len(body) % 4:
        body += b"\x00"
    size = max(128 + table_len + len(body), pad_to)
    header = (
        struct.pack(">I", size) + b"lcms" + b"\x02\x10\x00\x00" + b"mntr" + b"RGB " + b"XYZ "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp" + b"APPL" + b"\x00" * 4
        + b"\x00" * 4 + b"\x00" * 4 + b"\x00" * 8 + struct.pack(">I", 0)
        + b"".join(s15(c) for c in D50) + b"\x00" * 4 + b"\x00" * 16 + b"\x00" * 28
    )
    assert len(header) == 128
    profile = header + table + body
    return profile + b"\x00" * (size - len(profile))


def exif_bytes(orientation: int | None = None, gps: bool = False) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    if orientation is not None:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    return exif.tobytes()


def animated(fmt: str, colors=((220, 20, 20), (20, 200, 20), (20, 20, 220))) -> bytes:
    frames = [Image.new("RGB", (64, 48), c) for c in colors]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=80, loop=0)


def heic(img: Image.Image, quality: int = 80) -> bytes:
    import pillow_heif

    buf = io.BytesIO()
    pillow_heif.from_pillow(img).save(buf, quality=quality)
    return buf.getvalue()


# --------------------------------------------------------------------------- #
# The corpus
# --------------------------------------------------------------------------- #

_MINIMAL_PDF = b"""%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj
xref
0 4
0000000000 65535 f 
0000000009 00000 n 
0000000058 00000 n 
0000000115 00000 n 
trailer << /Size 4 /Root 1 0 R >>
startxref
186
%%EOF
"""

_SVG = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100">
  <rect width="200" height="100" fill="#3366cc"/><circle cx="100" cy="50" r="40" fill="#ffcc00"/>
</svg>
"""

_HTML = b"""<!DOCTYPE html>
<html><head><title>Not a picture</title></head>
<body><img src="photo.jpg" alt="a photo"><p>Hello</p></body></html>
"""


def _build() -> list[tuple[str, str, str, Callable[[], bytes]]]:
    """(name, file extension, expectation, builder) for every case."""
    rnd = random.Random(SEED)
    pic = photo(96, 64)

    def jpeg(img=pic, **kw) -> bytes:
        return encode(img, "JPEG", quality=85, **kw)

    def png(img=pic, **kw) -> bytes:
        return encode(img, "PNG", **kw)

    def truncated_jpeg() -> bytes:
        data = encode(noise(160, 120), "JPEG", quality=90)
        return data[: len(data) // 2]

    def truncated_png() -> bytes:
        data = png(noise(160, 120))
        return data[: len(data) // 2]

    def truncated_gif() -> bytes:
        data = encode(noise(160, 120).convert("P"), "GIF")
        return data[: len(data) // 2]

    def zip_archive() -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, content in (("photo.jpg", jpeg()), ("readme.txt", b"two files")):
                zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), content)
        return buf.getvalue()

    def cmyk_jpeg() -> bytes:  # Pillow writes Adobe APP14 + inverted CMYK, like Photoshop
        return jpeg(pic.convert("CMYK"))

    def cmyk_jpeg_without_adobe_marker() -> bytes:
        inverted = Image.eval(pic.convert("CMYK"), lambda v: 255 - v)
        return strip_jpeg_segments(jpeg(inverted), 0xEE)  # stored plain CMYK, no APP14

    def grey16_png() -> bytes:
        ramp = np.tile(np.linspace(0, 65535, 96).astype(np.uint16), (64, 1))
        return png(Image.fromarray(ramp))

    def rgb16_png() -> bytes:
        rows = []
        for y in range(48):
            row = bytearray()
            for x in range(64):
                row += struct.pack(">HHH", x * 1000, y * 1300, 40000)
            rows.append(bytes(row))
        return png_from_scanlines(64, 48, 16, 2, rows=rows)

    def palette_transparent_png() -> bytes:
        img = pic.quantize(15)                      # indices 0..14
        palette = img.getpalette()[: 15 * 3] + [255, 0, 255]
        img.putpalette(palette)                     # index 15: magenta, marked transparent
        img.paste(15, (0, 0, 32, 64))
        return png(img, transparency=15)

    def la_png() -> bytes:
        grey = pic.convert("L")
        alpha = Image.linear_gradient("L").resize(grey.size)
        return png(Image.merge("LA", (grey, alpha)))

    def rgba_png() -> bytes:
        rgba = pic.convert("RGBA")
        rgba.putalpha(Image.linear_gradient("L").resize(pic.size))
        return png(rgba)

    def rgb_trns_png() -> bytes:
        img = pic.copy()
        img.paste((255, 0, 255), (0, 0, 40, 64))
        return png(img, transparency=(255, 0, 255))

    def corrupt_exif_ifd() -> bytes:
        payload = b"Exif\x00\x00" + b"MM\x00\x2a\x00\x00\x00\x08" + b"\xff\xff" + b"\x01\x12\x00\x03" + bytes(
            rnd.getrandbits(8) for _ in range(40))
        return insert_jpeg_segment(jpeg(), 0xE1, payload)

    def corrupt_exif_header() -> bytes:
        payload = b"Exif\x00\x00" + b"XX\x2a\x00\xff\xff\xff\xf0" + bytes(rnd.getrandbits(8) for _ in range(64))
        return insert_jpeg_segment(jpeg(), 0xE1, payload)

    def exif_offsets_out_of_range() -> bytes:
        # one IFD entry (Orientation, SHORT, count 4096) whose value offset points far past the end
        ifd = struct.pack(">H", 1) + struct.pack(">HHII", 0x0112, 3, 4096, 0x7FFFFFF0) + struct.pack(">I", 0)
        payload = b"Exif\x00\x00" + b"MM\x00\x2a\x00\x00\x00\x08" + ifd
        return insert_jpeg_segment(jpeg(), 0xE1, payload)

    def huge_icc_jpeg() -> bytes:
        # parsable but 1.5 MB, and with swapped primaries: must be ignored, not applied
        swapped = (SRGB_COLORANTS[2], SRGB_COLORANTS[1], SRGB_COLORANTS[0])
        return jpeg(icc_profile=icc_profile(swapped, description="Huge swapped", pad_to=1_500_000))

    def broken_icc_jpeg() -> bytes:
        junk = bytearray(icc_profile())
        junk[128:] = bytes(rnd.getrandbits(8) for _ in range(len(junk) - 128))
        return jpeg(icc_profile=bytes(junk))

    def garbage_icc_png() -> bytes:
        return png(icc_profile=bytes(rnd.getrandbits(8) for _ in range(3000)))

    def p3_jpeg() -> bytes:
        return jpeg(icc_profile=icc_profile())

    def random_bytes() -> bytes:
        return bytes(rnd.getrandbits(8) for _ in range(4096))

    def tiff_lzw() -> bytes:
        return encode(pic, "TIFF", compression="tiff_lzw")

    def jpeg_content_named_png() -> bytes:
        return jpeg()

    def png_bomb() -> bytes:  # 30000×30000 one colour, 1 bit: ~110 KB, 900 megapixels
        return png_from_scanlines(30000, 30000, 1, 0, row=b"\x00" * 3750)

    def png_100mp() -> bytes:  # between Pillow's warning and error thresholds
        return png_from_scanlines(10000, 10000, 1, 0, row=b"\xff" * 1250)

    def png_just_over_limit() -> bytes:  # 7072×7072 = 50.01 MP: only our own limit catches it
        return png_from_scanlines(7072, 7072, 1, 0, row=b"\x00" * 884)

    def jpeg_huge_sof() -> bytes:  # header claims 65000×65000
        data = bytearray(jpeg())
        i = data.find(b"\xff\xc0")
        struct.pack_into(">HH", data, i + 5, 65000, 65000)
        return bytes(data)

    cases: list[tuple[str, str, str, Callable[[], bytes]]] = [
        # --- not pictures at all
        ("empty", "jpg", "empty", lambda: b""),
        ("random_bytes", "jpg", "not_image", random_bytes),
        ("document", "pdf", "not_image", lambda: _MINIMAL_PDF),
        ("pdf_named_jpg", "jpg", "not_image", lambda: _MINIMAL_PDF),
        ("archive", "zip", "not_image", zip_archive),
        ("drawing", "svg", "not_image", lambda: _SVG),
        ("page", "html", "not_image", lambda: _HTML),
        ("notes", "txt", "not_image", lambda: b"just some text, definitely not a picture\n" * 20),
        ("mp4_header", "mp4", "not_image", lambda: b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 200),
        # --- broken pictures
        ("truncated_jpeg", "jpg", "corrupt", truncated_jpeg),
        ("truncated_png", "png", "corrupt", truncated_png),
        ("truncated_gif", "gif", "corrupt", truncated_gif),
        ("truncated_heic", "heic", "corrupt", lambda: heic(noise(96, 64))[:300]),
        ("magic_only_gif", "gif", "corrupt", lambda: b"GIF89a"),
        ("magic_only_png", "png", "corrupt", lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 10),
        # --- size limits
        ("bomb_30000x30000", "png", "too_big", png_bomb),
        ("png_10000x10000", "png", "too_big", png_100mp),
        ("png_7072x7072", "png", "too_big", png_just_over_limit),
        ("jpeg_header_65000x65000", "jpg", "too_big", jpeg_huge_sof),
        ("line_1x20000", "png", "too_small", lambda: png(Image.new("L", (1, 20000), 128))),
        ("line_20000x1", "png", "too_small", lambda: png(Image.new("L", (20000, 1), 128))),
        ("tiny_16x16", "png", "too_small", lambda: png(pic.resize((16, 16)))),
        ("min_32x32", "png", OK, lambda: png(pic.resize((32, 32)))),
        ("panorama_21x1", "jpg", "bad_ratio", lambda: jpeg(pic.resize((672, 32)))),
        ("panorama_1x21", "jpg", "bad_ratio", lambda: jpeg(pic.resize((32, 672)))),
        ("panorama_20x1", "jpg", OK, lambda: jpeg(pic.resize((640, 32)))),
        ("panorama_19x1", "jpg", OK, lambda: jpeg(pic.resize((608, 32)))),
        # --- colour modes
        ("rgb_jpeg", "jpg", OK, jpeg),
        ("progressive_jpeg", "jpg", OK, lambda: jpeg(progressive=True)),
        ("grayscale_jpeg", "jpg", OK, lambda: jpeg(pic.convert("L"))),
        ("cmyk_jpeg", "jpg", OK, cmyk_jpeg),
        ("cmyk_jpeg_no_adobe", "jpg", OK, cmyk_jpeg_without_adobe_marker),
        ("grey16_png", "png", OK, grey16_png),
        ("rgb16_png", "png", OK, rgb16_png),
        ("palette_transparent_png", "png", OK, palette_transparent_png),
        ("la_png", "png", OK, la_png),
        ("rgba_png", "png", OK, rgba_png),
        ("rgb_trns_png", "png", OK, rgb_trns_png),
        ("bilevel_png", "png", OK, lambda: png(pic.convert("1"))),
        ("bmp", "bmp", OK, lambda: encode(pic, "BMP")),
        ("tiff", "tiff", OK, tiff_lzw),
        ("static_webp", "webp", OK, lambda: encode(pic, "WEBP", quality=80)),
        ("animated_gif", "gif", OK, lambda: animated("GIF")),
        ("animated_webp", "webp", OK, lambda: animated("WEBP")),
        ("heic", "heic", OK, lambda: heic(pic)),
        ("jpeg_named_png", "png", OK, jpeg_content_named_png),
        # --- metadata
        ("exif_orientation_0", "jpg", OK, lambda: jpeg(exif=exif_bytes(0))),
        ("exif_orientation_6", "jpg", OK, lambda: jpeg(exif=exif_bytes(6))),
        ("exif_orientation_9", "jpg", OK, lambda: jpeg(exif=exif_bytes(9))),
        ("exif_orientation_255", "jpg", OK, lambda: jpeg(exif=exif_bytes(255))),
        ("exif_gps", "jpg", OK, lambda: jpeg(exif=exif_bytes(1, gps=True))),
        ("corrupt_exif_ifd", "jpg", OK, corrupt_exif_ifd),
        ("corrupt_exif_header", "jpg", OK, corrupt_exif_header),
        ("exif_offset_out_of_range", "jpg", OK, exif_offsets_out_of_range),
        ("icc_display_p3", "jpg", OK, p3_jpeg),
        ("icc_huge_1_5mb", "jpg", OK, huge_icc_jpeg),
        ("icc_broken", "jpg", OK, broken_icc_jpeg),
        ("icc_garbage_png", "png", OK, garbage_icc_png),
    ]
    return cases


def case_specs() -> list[tuple[str, str, str]]:
    """(name, extension, expect) of every case, without generating any file."""
    return [(name, ext, expect) for name, ext, expect, _ in _build()]


def make_corpus(out_dir: Path) -> list[Case]:
    """Write every corpus file into ``out_dir`` (created if needed) and describe them."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result: list[Case] = []
    for name, ext, expect, build in _build():
        path = out_dir / f"{name}.{ext}"
        path.write_bytes(build())
        result.append(Case(name=name, path=path, expect=expect))
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: python -m tests.corpus.make_corpus OUT_DIR", file=sys.stderr)
        return 2
    for case in make_corpus(Path(args[0])):
        print(f"{case.expect}\t{case.path.stat().st_size}\t{case.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
