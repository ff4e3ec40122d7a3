"""🙂 faces and 👀 9 at a glance in the bot (issue 20), end to end against the fake Bot API."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from devkit.bot_harness import BotHarness, button, buttons
from tests.bot_harness import cycle_in_place, decode, jpeg
from tests.conftest import DATA_DIR, EXIF_DIR

ALICE = {"id": 3001, "is_bot": False, "first_name": "Alice"}
BOB = {"id": 3002, "is_bot": False, "first_name": "Bob"}
OLGA = {"id": 3003, "is_bot": False, "first_name": "Olga", "language_code": "ru"}
GROUP = {"id": -5151, "type": "group", "title": "Portraits"}
PORTRAIT = DATA_DIR / "portraits" / "hopper.jpg"
NUMBERS = [str(n) for n in range(1, 10)]


def _diff(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).mean())


def _result(h: BotHarness, user: dict, image: bytes, pick: str = "1.", **kw: object) -> dict:
    h.feed(h.document(user, image, "portrait.jpg", **kw))
    keyboard = h.last("sendMessage").result
    h.feed(h.press(user, keyboard, button(keyboard, pick)))
    return h.last("sendPhoto")


def test_faces_button_cycles_and_repaints_in_place(harness: BotHarness) -> None:
    """A portrait: faces kept by default (caption and button say so); 🙂 cycles
    person kept → faces painted → faces kept, each tap editing the same message."""
    h = harness
    sent = _result(h, ALICE, jpeg(PORTRAIT, side=600))
    assert "🙂 Faces kept" in sent.params["caption"]
    result, first = sent.result, decode(sent.files["photo"])
    assert "🙂 Faces kept" in buttons(result)
    images = cycle_in_place(h, ALICE, sent, "🙂", [(f"🙂 {s}", f"🙂 {s}") for s in
                                                  ("Person kept", "Faces painted", "Faces kept")])
    assert _diff(images[0], first) > 3 and _diff(images[1], first) > 3
    assert _diff(images[0], images[1]) > 3
    assert _diff(images[2], first) < 1        # back to faces kept: the first painting again


def test_no_face_no_button(harness: BotHarness) -> None:
    """A landscape: no 🙂 under the result and nothing about faces in the caption."""
    h = harness
    sent = _result(h, ALICE, jpeg(EXIF_DIR / "Landscape_1.jpg", side=600, keep_exif=True))
    assert "🙂" not in sent.params["caption"]
    assert not [t for t in buttons(sent.result) if t.startswith("🙂")]


def _glance(h: BotHarness, user: dict, chat: dict | None = None, **kw: object) -> tuple[dict, dict]:
    """Photo → painting list → 👀: (the list message, the grid's sendPhoto call)."""
    photo = h.photo(user, jpeg(PORTRAIT, side=480), chat=chat, **kw)
    h.feed(photo)
    keyboard = h.last("sendMessage").result
    h.feed(h.press(user, keyboard, button(keyboard, "👀")))
    return keyboard, h.last("sendPhoto")


def test_glance_pages_random_and_a_press_paints_full_size(harness: BotHarness, engine) -> None:
    h = harness
    presets = engine.catalog.presets()
    keyboard, sent = _glance(h, ALICE)
    grid = decode(sent.files["photo"])
    assert "(1/2)" in sent.params["caption"]
    assert abs(grid.width / grid.height - 480 / 560) < 0.03   # 3×3 tiles of the photo's aspect
    labels = list(buttons(sent.result))
    assert labels[:9] == NUMBERS and "▶" in labels and "🎲 9 random" in labels
    # ▶: the next 9 presets, in place
    h.feed(h.press(ALICE, sent.result, button(sent.result, "▶")))
    edit = h.last("editMessageMedia")
    assert edit.params["message_id"] == sent.result["message_id"]
    assert "(2/2)" in edit.params["media"]["caption"]
    page2 = decode(next(iter(edit.files.values())))
    assert _diff(page2, grid) > 5
    # 3 on page 2 is preset #12: painted at full size, as a reply to the photo, as usual
    h.feed(h.press(ALICE, edit.result, button(edit.result, "3")))
    painted = h.last("sendPhoto")
    assert presets[11].title.split(" (")[0] in painted.params["caption"]
    assert max(decode(painted.files["photo"]).size) == 480
    assert "🙂 Faces kept" in buttons(painted.result)
    # 🎲: 9 random ones
    h.feed(h.press(ALICE, edit.result, button(edit.result, "🎲")))
    rnd = h.last("editMessageMedia")
    assert "9 random" in rnd.params["media"]["caption"]
    assert list(buttons(rnd.result))[:9] == NUMBERS


def test_glance_in_a_group_and_in_russian(harness: BotHarness) -> None:
    h = harness
    _, sent = _glance(h, OLGA, chat=GROUP, caption="/stylize")
    assert sent.params["chat_id"] == GROUP["id"]
    assert "9 картинах" in sent.params["caption"]
    assert "🎲 9 случайных" in buttons(sent.result)
    before = len(h.tg.calls)
    h.feed(h.press(BOB, sent.result, button(sent.result, "1")))     # not Bob's grid
    assert [c.method for c in h.tg.calls[before:]] == ["answerCallbackQuery"]
    h.feed(h.press(OLGA, sent.result, button(sent.result, "1")))
    painted = h.last("sendPhoto")
    assert painted.params["chat_id"] == GROUP["id"] and painted is not sent
    assert "🙂 Лица как есть" in buttons(painted.result)       # "Faces kept" in the ru catalog


@pytest.mark.parametrize("lang", ["ar", "de", "es", "fa", "fr", "hi", "id", "it", "pt-br", "ru", "tr", "uk",
                                  "uz", "vi"])
def test_glance_button_is_translated(harness: BotHarness, lang: str) -> None:
    h = harness
    user = {**ALICE, "language_code": lang}
    h.feed(h.photo(user, jpeg(PORTRAIT, side=240)))
    labels = list(buttons(h.last("sendMessage").result))
    assert any("👀" in t for t in labels) and "👀 9 at a glance" not in labels   # fa: RTL mark first


def test_help_explains_faces_and_glance(harness: BotHarness) -> None:
    h = harness
    h.feed(h.tg.text_update(None, ALICE, "/help"))
    text = h.last("sendMessage").params["text"]
    assert "🙂" in text and "👀" in text



def test_clip_with_a_face_gets_the_faces_button(harness: BotHarness, tmp_path) -> None:
    """A clip of a portrait: faces kept in every frame (mask carried along the flow), 🙂
    under the animation; a tap repaints the clip in place with the whole person kept.
    A clip without a face has no 🙂."""
    from devkit import clip_factory as cf

    h = harness
    for photo, has_face in ((PORTRAIT, True), (EXIF_DIR / "Landscape_0.jpg", False)):
        data = cf.write_clip(cf.pan(photo, 6, (240, 240), step=4), tmp_path / "c.mp4").read_bytes()
        fid = h.tg.add_file(data, kind="animation")
        h.feed(h.tg.animation_update(None, ALICE, fid, file_size=len(data)))
        keyboard = h.last("sendMessage").result
        h.feed(h.press(ALICE, keyboard, button(keyboard, "1.")))
        sent = h.last("sendAnimation")
        assert ("🙂 Faces kept" in sent.params["caption"]) is has_face
        assert ("🙂 Faces kept" in buttons(sent.result)) is has_face
    h.feed(h.press(ALICE, sent.result, button(sent.result, "50%")))   # no face: no 🙂 after edits
    assert not [t for t in buttons(h.last("editMessageMedia").result) if t.startswith("🙂")]
    face_clip = h.calls("sendAnimation")[0].result
    h.feed(h.press(ALICE, face_clip, button(face_clip, "🙂")))
    edit = h.last("editMessageMedia")
    assert edit.params["message_id"] == face_clip["message_id"]
    assert "animation" in edit.result and "🙂 Person kept" in edit.result["caption"]
