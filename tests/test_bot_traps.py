"""What a phone user tripped over (issue 13, part 2), end to end against the fake Bot API.
Each test failed on the code before its fix."""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from bot import texts
from devkit import clip_factory as cf
from devkit.bot_harness import BotHarness, button, buttons, reply_to_of
from tests.bot_harness import content_jpeg, decode
from tests.conftest import MAGENTA_DIR

ALICE = {"id": 3001, "is_bot": False, "first_name": "Alice"}
GROUP = {"id": -5151, "type": "group", "title": "Painters"}


def _keyboards(h: BotHarness) -> list[dict]:
    return [c.result for c in h.calls("sendMessage") if c.params.get("reply_markup")]


def _result(h: BotHarness, update: dict, prefix: str = "1.") -> dict:
    h.feed(update)
    keyboard = h.last("sendMessage").result
    h.feed(h.press(ALICE, keyboard, button(keyboard, prefix)))
    return h.last("sendPhoto").result


def _plain_texts(h: BotHarness) -> list[str]:
    return [c.params["text"] for c in h.calls("sendMessage") if not c.params.get("reply_markup")]


# 1 ------------------------------------------------------------------------------------
def test_second_photo_gets_its_own_keyboard_not_the_first_ones_style(harness: BotHarness
                                                                     ) -> None:
    h = harness
    first = h.photo(ALICE, content_jpeg("golden_gate_sq.jpg"))
    h.feed(first)
    second = h.photo(ALICE, content_jpeg("eiffel_tower.jpg"))
    h.feed(second)
    assert not h.calls("sendPhoto"), "the second photo silently became a style"
    keyboards = h.calls("sendMessage")
    assert len(_keyboards(h)) == 2
    assert reply_to_of(keyboards[-1]) == second["message"]["message_id"]
    # 🔁 "another style" must not re-arm it either
    result = _result(h, h.photo(ALICE, content_jpeg()))
    h.feed(h.press(ALICE, result, button(result, "🔁")))
    h.feed(h.photo(ALICE, content_jpeg("statue_of_liberty_sq.jpg")))
    assert len(h.calls("sendPhoto")) == 1
    assert len(_keyboards(h)) == 5


def test_own_style_only_after_asking_for_it(harness: BotHarness) -> None:
    h = harness
    first = h.photo(ALICE, content_jpeg())
    h.feed(first)
    keyboard = h.last("sendMessage").result
    h.feed(h.press(ALICE, keyboard, button(keyboard, "🖼")))
    h.feed(h.photo(ALICE, content_jpeg("eiffel_tower.jpg")))
    sent = h.last("sendPhoto")
    assert reply_to_of(sent) == first["message"]["message_id"]
    assert "Style: your second photo" in sent.params["caption"]
    # the request was used up: the next photo is a photo again
    h.feed(h.photo(ALICE, content_jpeg("statue_of_liberty_sq.jpg")))
    assert len(h.calls("sendPhoto")) == 1 and len(_keyboards(h)) == 2


# 2 ------------------------------------------------------------------------------------
def test_album_of_three_says_what_happens_once(harness: BotHarness) -> None:
    h = harness
    group = h.tg.new_media_group_id()
    names = ("golden_gate_sq.jpg", "eiffel_tower.jpg", "statue_of_liberty_sq.jpg",
             "golden_gate_sq.jpg")
    photos = [h.photo(ALICE, content_jpeg(name), media_group_id=group) for name in names]
    h.feed(*photos)
    assert len(h.calls("sendPhoto")) == 1
    assert _plain_texts(h) == [texts.ALBUM_EXTRA]


# 3 ------------------------------------------------------------------------------------
def test_hd_on_a_compressed_photo_says_send_it_as_a_file(harness: BotHarness) -> None:
    h = harness
    result = _result(h, h.photo(ALICE, content_jpeg(side=240)))
    h.feed(h.press(ALICE, result, button(result, "⬇")))
    assert not h.calls("sendDocument"), "an 'HD' file the same size as the photo"
    alert = h.last("answerCallbackQuery").params
    assert alert["text"] == texts.HD_NEEDS_FILE and alert.get("show_alert") is True
    assert len(alert["text"]) <= 200


# 4 ------------------------------------------------------------------------------------
def _tall_thin_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 1000), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def test_pictures_i_cannot_paint_are_refused_on_arrival(harness: BotHarness) -> None:
    h = harness
    broken = h.tg.add_file(b"\xff\xd8\xff\xe0 broken jpeg" * 10, kind="document")
    h.feed(h.tg.document_update(None, ALICE, broken, "image/jpeg", "broken.jpg"))
    h.feed(h.document(ALICE, content_jpeg(side=20), "tiny.jpg"))
    h.feed(h.document(ALICE, _tall_thin_jpeg(), "thin.jpg"))
    assert not _keyboards(h), "a painting keyboard for a picture I can't paint"
    assert _plain_texts(h) == [texts.UNREADABLE_FILE, texts.TOO_SMALL.format(min_side=32),
                               texts.BAD_RATIO]


def test_stylize_reply_to_a_picture_i_cannot_paint_is_refused_at_once(harness: BotHarness
                                                                       ) -> None:
    h = harness
    tiny = h.document(ALICE, content_jpeg(side=20), "tiny.jpg", chat=GROUP)
    h.feed(tiny)   # not for the bot: no caption
    h.feed(h.tg.text_update(GROUP, ALICE, "/stylize", reply_to=tiny["message"],
                            chat_type="group"))
    assert not _keyboards(h)
    assert h.texts() == [texts.TOO_SMALL.format(min_side=32)]


# 5 ------------------------------------------------------------------------------------
def _clip_file(h: BotHarness, tmp_path: Path, kind: str) -> tuple[str, int]:
    data = cf.write_clip(cf.pan(MAGENTA_DIR / "content" / "golden_gate_sq.jpg", 4, (96, 64)),
                         tmp_path / "clip.mp4").read_bytes()
    return h.tg.add_file(data, kind=kind), len(data)


def test_clips_are_checked_on_arrival_and_stickers_get_one_clear_not_yet(
        harness: BotHarness, tmp_path: Path) -> None:
    h = harness
    fid, size = _clip_file(h, tmp_path, "animation")
    h.feed(h.tg.animation_update(None, ALICE, fid, file_size=size))
    fid, size = _clip_file(h, tmp_path, "video")
    h.feed(h.tg.video_update(None, ALICE, fid, file_size=size))
    h.feed(h.tg.video_note_update(None, ALICE, fid, file_size=size))
    h.feed(h.tg.sticker_update(None, ALICE))
    h.feed(h.tg.sticker_update(None, ALICE, is_animated=True))
    video_file = h.tg.add_file(b"\x00\x00\x00\x18ftypmp42" + bytes(64), kind="document")
    h.feed(h.tg.document_update(None, ALICE, video_file, "video/mp4", "clip.mp4"))
    clip = texts.CHOOSE_STYLE_CLIP
    assert h.texts() == [clip, clip, clip, texts.NOT_YET_STICKER, texts.NOT_YET_STICKER,
                         texts.CLIP_UNREADABLE]
    assert len(_keyboards(h)) == 3


def test_clip_in_a_group_only_when_addressed(harness: BotHarness, tmp_path: Path) -> None:
    h = harness
    fid, size = _clip_file(h, tmp_path, "animation")
    h.feed(h.tg.animation_update(GROUP, ALICE, fid, file_size=size, chat_type="group"))
    assert not h.texts() and not h.calls("getFile")
    h.feed(h.tg.animation_update(GROUP, ALICE, fid, file_size=size, chat_type="group",
                                 caption="/stylize"))
    assert h.texts() == [texts.CHOOSE_STYLE_CLIP]


# 6 ------------------------------------------------------------------------------------
def test_start_and_styles_in_a_group_explain_stylize(harness: BotHarness) -> None:
    h = harness
    h.feed(h.tg.text_update(GROUP, ALICE, "/start", chat_type="group"))
    assert "/stylize" in h.texts()[-1]
    h.feed(h.tg.text_update(GROUP, ALICE, "/styles", chat_type="group"))
    assert "/stylize" in h.last("sendPhoto").params["caption"]


def test_forget_in_a_group_gives_no_details(harness: BotHarness) -> None:
    h = harness
    h.feed(h.photo(ALICE, content_jpeg(), chat=GROUP, caption="/stylize"))
    h.feed(h.tg.text_update(GROUP, ALICE, "/forget", chat_type="group"))
    said = h.texts()[-1]
    assert said == texts.FORGOTTEN_GROUP
    assert not any(ch.isdigit() for ch in said)


def test_stylize_in_private_without_a_photo_explains_itself(harness: BotHarness) -> None:
    h = harness
    h.feed(h.tg.text_update(None, ALICE, "/stylize"))
    assert h.texts() == [texts.STYLIZE_PRIVATE]
    assert texts.STYLIZE_PRIVATE != texts.SEND_A_PHOTO


# 8 ------------------------------------------------------------------------------------
def test_shared_results_carry_no_personal_caption(harness: BotHarness) -> None:
    h = harness
    _result(h, h.photo(ALICE, content_jpeg()), "1.")
    photo = h.photo(ALICE, content_jpeg())
    h.feed(photo)
    keyboard = h.last("sendMessage").result
    h.feed(h.press(ALICE, keyboard, button(keyboard, "🖼")))
    h.feed(h.photo(ALICE, content_jpeg("eiffel_tower.jpg")))
    assert len(h.calls("sendPhoto")) == 2
    h.feed(h.tg.inline_query_update(ALICE, ""))
    own, preset = h.last("answerInlineQuery").params["results"]
    username = h.app.bot.username
    for result in (own, preset):
        assert f"@{username}" in result["caption"]
        assert "your" not in result["caption"].lower()
    assert "The Starry Night" in preset["caption"] and "The Starry Night" == preset["title"]


# 9 ------------------------------------------------------------------------------------
def test_wording(harness: BotHarness) -> None:
    h = harness
    h.feed(h.tg.inline_query_update(ALICE, ""))
    empty = h.last("answerInlineQuery").params["button"]["text"]
    assert empty.lower().count("first") < 2
    # an unreadable *photo* is not told to send a photo
    corrupt = h.tg.add_file(b"\xff\xd8\xff\xe0 broken" * 10)
    h.feed(h.tg.photo_update(None, ALICE, corrupt, 96, 64))
    said = h.texts()[-1]
    assert "photo" not in said.lower() and "file" not in said.lower()


# 10 -----------------------------------------------------------------------------------
def test_mix_result_offers_the_balance(harness: BotHarness) -> None:
    h = harness
    result = _result(h, h.photo(ALICE, content_jpeg()), "5.")
    h.feed(h.press(ALICE, result, button(result, "➕")))
    mix_keyboard = h.last("sendMessage").result
    h.feed(h.press(ALICE, mix_keyboard, button(mix_keyboard, "1.")))
    mixed = h.last("sendPhoto")
    labels = list(buttons(mixed.result))
    assert {"75/25", "• 50/50 •", "25/75"} <= set(labels)
    assert "Mix 50/50" in mixed.params["caption"]
    assert "75/25" not in buttons(result), "only a mix has a balance"
    h.feed(h.press(ALICE, mixed.result, button(mixed.result, "75/25")))
    edit = h.last("editMessageMedia")
    assert "Mix 75/25" in edit.params["media"]["caption"]
    assert "• 75/25 •" in buttons(edit.result)
    # Full-size RGB: a mix's balance moves colours more than brightness, so a small
    # greyscale thumbnail sat right at the bound (≈ 2.0) through JPEG noise alone.
    before = decode(mixed.files["photo"]).convert("RGB")
    after = decode(edit.files["media"] if "media" in edit.files else
                   next(iter(edit.files.values()))).convert("RGB")
    assert before.size == after.size
    diff = sum(abs(a - b) for a, b in zip(before.tobytes(), after.tobytes())) / len(before.tobytes())
    assert diff > 5, "the balance changed the painting"
