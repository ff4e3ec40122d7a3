"""Fixtures and test images for the bot's end-to-end tests; the harness itself
(``BotHarness``, ``button``…) lives in devkit/bot_harness.py, shared with bench/."""
from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from PIL import Image

from bot.store.sqlite import SqliteStore
from devkit.bot_harness import BotHarness, button, buttons
from devkit.clock import ManualClock
from devkit.fake_telegram import FakeTelegram, serve
from tests.conftest import EXIF_DIR, MAGENTA_DIR

CONTENT_DIR = MAGENTA_DIR / "content"


def jpeg(path: Path | str, side: int = 240, *, keep_exif: bool = False) -> bytes:
    """A test image, long side `side`, optionally keeping its EXIF (orientation)."""
    with Image.open(path) as im:
        exif = im.info.get("exif") if keep_exif else None
        im = im.convert("RGB")
        im.thumbnail((side, side))
        out = io.BytesIO()
        im.save(out, "JPEG", quality=85, **({"exif": exif} if exif else {}))
        return out.getvalue()


def content_jpeg(name: str = "golden_gate_sq.jpg", side: int = 240) -> bytes:
    return jpeg(CONTENT_DIR / name, side)


def exif_jpeg(orientation: int, side: int = 240) -> bytes:
    return jpeg(EXIF_DIR / f"Landscape_{orientation}.jpg", side, keep_exif=True)


def decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def cycle_in_place(h: BotHarness, user: dict, sent: Any, emoji: str,
                   states: list[tuple[str, str]]) -> list[Image.Image]:
    """Tap `emoji` under the result `sent` once per state (caption text, button text): each
    tap must edit that same photo message, saying the state in its caption and on its
    button. Returns the repainted images, one per tap."""
    result, images = sent.result, []
    for caption, label in states:
        h.feed(h.press(user, result, button(result, emoji)))
        edit = h.last("editMessageMedia")
        assert edit.ok and edit.params["message_id"] == sent.result["message_id"]
        assert caption in edit.params["media"]["caption"]
        result = edit.result
        assert label in buttons(result)
        images.append(decode(next(iter(edit.files.values()))))
    assert len(h.calls("sendPhoto")) == 1, f"{emoji} edits, it doesn't send again"
    return images


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    yield from serve()


@pytest.fixture
def harness(tg: FakeTelegram, tmp_path: Path, engine: Any) -> Iterator[BotHarness]:
    h = BotHarness(tg, tmp_path, engine)
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def minute_store(tmp_path: Path) -> SqliteStore:
    """SQLite on a clock frozen one second into a minute: per-minute limits are counted
    in one minute however long the test runs (on the wall clock a test can straddle a
    minute boundary, and its counts start again)."""
    return SqliteStore(tmp_path / "limits.sqlite3", clock=ManualClock(start=60 * (time.time() // 60) + 1))
