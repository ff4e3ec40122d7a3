"""The main conversation, end to end against the fake Bot API (flows 1–4)."""
from __future__ import annotations

import pytest
from PIL import Image

from devkit.bot_harness import BotHarness, button, buttons, reply_to_of
from tests.bot_harness import content_jpeg, cycle_in_place, decode, exif_jpeg

ALICE = {"id": 1001, "is_bot": False, "first_name": "Alice"}
BOB = {"id": 1002, "is_bot": False, "first_name": "Bob"}


def _keyboard_message(h: BotHarness) -> dict:
    return h.last("sendMessage").result


def _photo_to_result(h: BotHarness, image: bytes, preset_prefix: str = "1.") -> tuple[dict, dict]:
    """Send a photo, press a painting; returns (user's photo message, result message)."""
    update = h.photo(ALICE, image)
    h.feed(update)
    keyboard = _keyboard_message(h)
    h.feed(h.press(ALICE, keyboard, button(keyboard, preset_prefix)))
    return update["message"], h.last("sendPhoto").result


def test_start_and_help_explain_briefly(harness: BotHarness) -> None:
    h = harness
    h.feed(h.tg.text_update(None, ALICE, "/start"), h.tg.text_update(None, ALICE, "/help"))
    texts = h.texts()
    assert len(texts) == 2
    assert all(0 < len(t) < 1200 for t in texts)
    assert any("photo" in t.lower() for t in texts)
    assert any("/forget" in t for t in texts)


def test_styles_gallery_is_one_collage_and_cached(harness: BotHarness) -> None:
    h = harness
    h.feed(h.tg.text_update(None, ALICE, "/styles"))
    first = h.last("sendPhoto")
    sheet = decode(first.files["photo"])
    assert sheet.width > 800 and sheet.height > 600
    h.feed(h.tg.text_update(None, BOB, "/styles"))
    second = h.last("sendPhoto")
    assert "photo" not in second.files, "the second gallery must reuse the file_id"
    assert second.params["photo"] == first.result["photo"][-1]["file_id"]
    assert second.ok


def test_photo_gets_paged_keyboard(harness: BotHarness) -> None:
    h = harness
    update = h.photo(ALICE, content_jpeg())
    h.feed(update)
    keyboard = _keyboard_message(h)
    labels = list(buttons(keyboard))
    presets = [t for t in labels if t[0].isdigit()]
    assert 6 <= len(presets) <= 8
    assert {"◀", "▶", "🎲 Random", "🖼 Use my own style"} <= set(labels)
    assert reply_to_of(h.last("sendMessage")) == update["message"]["message_id"]
    assert all(len(d.encode()) <= 64 for d in buttons(keyboard).values())
    # ▶ edits the same message with the next page of paintings
    h.feed(h.press(ALICE, keyboard, buttons(keyboard)["▶"]))
    edited = h.last("editMessageText").result
    assert edited["message_id"] == keyboard["message_id"]
    page2 = [t for t in buttons(edited) if t[0].isdigit()]
    assert page2 and page2[0].startswith(f"{len(presets) + 1}.")


def test_preset_reply_with_caption_and_result_keyboard(harness: BotHarness) -> None:
    h = harness
    photo, result = _photo_to_result(h, content_jpeg(side=240))
    answer = h.calls("answerCallbackQuery")
    assert len(answer) == 1 and answer[0].ok
    assert h.calls("sendChatAction")[0].params["action"] == "upload_photo"
    sent = h.last("sendPhoto")
    assert reply_to_of(sent) == photo["message_id"]
    assert sent.params["chat_id"] == ALICE["id"]
    assert "The Starry Night" in sent.params["caption"] and "van Gogh" in sent.params["caption"]
    assert "1889" in sent.params["caption"]
    out = decode(sent.files["photo"])
    src = decode(content_jpeg(side=240))
    assert abs(out.width / out.height - src.width / src.height) < 0.02
    assert not out.getexif(), "outputs carry no EXIF"
    labels = set(buttons(result))
    assert {"25%", "50%", "75%", "• 100% •", "🔁 Another style", "➕ Mix", "⬇ HD",
            "↗ Share"} <= labels


def test_strength_and_colors_edit_the_result(harness: BotHarness) -> None:
    h = harness
    _, result = _photo_to_result(h, content_jpeg())
    downloads = len(h.tg.downloads)
    h.feed(h.press(ALICE, result, button(result, "50%")))
    edit = h.last("editMessageMedia")
    assert edit.ok and edit.params["message_id"] == result["message_id"]
    assert "Strength 50%" in edit.params["media"]["caption"]
    edited = edit.result
    assert "• 50% •" in buttons(edited)
    h.feed(h.press(ALICE, edited, button(edited, "🎨")))
    edit2 = h.last("editMessageMedia")
    assert "colours kept" in edit2.params["media"]["caption"]
    assert len(h.calls("sendPhoto")) == 1, "re-renders edit, they don't send again"
    assert len(h.tg.downloads) > downloads, "re-rendered from the kept file_id"
    assert not [t for t in h.texts() if "again" in t.lower()], "never asks for the photo again"


def test_hd_is_a_full_resolution_document(harness: BotHarness) -> None:
    h = harness
    # sent as a file, the original resolution survives
    update = h.document(ALICE, exif_jpeg(1, side=640), "landscape.jpg")
    h.feed(update)
    keyboard = _keyboard_message(h)
    h.feed(h.press(ALICE, keyboard, button(keyboard, "2.")))
    result = h.last("sendPhoto").result
    h.feed(h.press(ALICE, result, button(result, "⬇ HD")))
    doc = h.last("sendDocument")
    assert reply_to_of(doc) == result["message_id"]
    image = decode(doc.files["document"])
    assert image.format == "JPEG" and image.size == (640, 427)
    assert not image.getexif()


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_document_comes_back_upright(harness: BotHarness, orientation: int) -> None:
    h = harness
    reference = _stylized_document(h, exif_jpeg(1))
    turned = _stylized_document(h, exif_jpeg(orientation))
    assert turned.size == reference.size
    diff = _mean_abs_diff(turned, reference)
    rotated = _mean_abs_diff(turned.rotate(180), reference)
    assert diff < 25 and diff < rotated, (diff, rotated)


def _stylized_document(h: BotHarness, data: bytes) -> Image.Image:
    h.feed(h.document(ALICE, data, "landscape.jpg"))
    keyboard = _keyboard_message(h)
    h.feed(h.press(ALICE, keyboard, button(keyboard, "1.")))
    return decode(h.last("sendPhoto").files["photo"]).convert("L").resize((60, 40))


def _mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    pa, pb = a.tobytes(), b.tobytes()
    return sum(abs(x - y) for x, y in zip(pa, pb)) / len(pa)


def test_use_my_own_style_button(harness: BotHarness) -> None:
    h = harness
    first = h.photo(ALICE, content_jpeg())
    h.feed(first)
    keyboard = _keyboard_message(h)
    # an earlier result: a later photo would be new content …
    h.feed(h.press(ALICE, keyboard, button(keyboard, "3.")))
    # … unless "use my own style" was pressed
    h.feed(h.press(ALICE, keyboard, buttons(keyboard)["🖼 Use my own style"]))
    assert "style" in h.texts()[-1].lower()
    h.feed(h.photo(ALICE, content_jpeg("statue_of_liberty_sq.jpg")))
    sent = h.last("sendPhoto")
    assert len(h.calls("sendPhoto")) == 2
    assert "Style: your second photo" in sent.params["caption"]
    assert reply_to_of(sent) == first["message"]["message_id"]


def test_album_pairs_even_when_processed_concurrently(harness: BotHarness) -> None:
    h = harness
    group = h.tg.new_media_group_id()
    one = h.photo(ALICE, content_jpeg("golden_gate_sq.jpg"), media_group_id=group)
    two = h.photo(ALICE, content_jpeg("eiffel_tower.jpg"), media_group_id=group)
    h.feed(two, one)  # out of order, at the same time
    sent = h.calls("sendPhoto")
    assert len(sent) == 1, "exactly one painting for the pair"
    assert reply_to_of(sent[0]) == one["message"]["message_id"]
    assert "first photo of your album" in sent[0].params["caption"]
    assert not h.calls("sendMessage"), "no keyboard for an album pair"


def test_random_another_and_mix(harness: BotHarness) -> None:
    h = harness
    photo, result = _photo_to_result(h, content_jpeg(), preset_prefix="🎲")
    assert reply_to_of(h.last("sendPhoto")) == photo["message_id"]
    # 🔁 another style: the painting keyboard again, for the same photo
    h.feed(h.press(ALICE, result, button(result, "🔁")))
    again = h.last("sendMessage").result
    h.feed(h.press(ALICE, again, button(again, "5.")))
    second = h.last("sendPhoto")
    assert "The Scream" in second.params["caption"]
    assert reply_to_of(second) == photo["message_id"]
    # ➕ mix: pick a second painting, the caption names both
    h.feed(h.press(ALICE, second.result, button(second.result, "➕")))
    mix_keyboard = h.last("sendMessage")
    assert "The Scream" in mix_keyboard.params["text"]
    assert "🖼 Use my own style" not in buttons(mix_keyboard.result)
    h.feed(h.press(ALICE, mix_keyboard.result, button(mix_keyboard.result, "1.")))
    mixed = h.last("sendPhoto")
    assert "The Scream" in mixed.params["caption"] and "The Starry Night" in mixed.params["caption"]
    assert len(h.calls("sendPhoto")) == 3
    assert not [t for t in h.texts() if "again" in t.lower()]


def test_brush_button_cycles_and_repaints_in_place(harness: BotHarness) -> None:
    """🖌 under a result: bold → medium → fine → bold, each tap edits the same message;
    the caption says the brush; presets start with their own default brush."""
    h = harness
    h.feed(h.document(ALICE, exif_jpeg(1, side=900), "landscape.jpg"))
    keyboard = _keyboard_message(h)
    h.feed(h.press(ALICE, keyboard, button(keyboard, "1.")))   # The Starry Night: bold
    sent = h.last("sendPhoto")
    assert "🖌 bold brush" in sent.params["caption"]
    result, first = sent.result, decode(sent.files["photo"])
    assert "🖌 Brush: bold" in buttons(result)
    images = cycle_in_place(h, ALICE, sent, "🖌", [(f"🖌 {b} brush", f"🖌 Brush: {b}")
                                                  for b in ("medium", "fine", "bold")])
    assert all(im.size == first.size for im in images)
    assert _mean_abs_diff(images[0], first) > 3      # medium is another painting
    assert _mean_abs_diff(images[2], first) < 1      # back to bold: the first one again
    # another preset starts with its own default brush
    h.feed(h.press(ALICE, keyboard, button(keyboard, "2.")))   # Over the Rhône: medium
    assert "🖌 medium brush" in h.last("sendPhoto").params["caption"]
