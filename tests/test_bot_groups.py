"""Groups (privacy mode on) and inline mode, end to end against the fake Bot API."""
from __future__ import annotations

from devkit.bot_harness import BotHarness, button, buttons, reply_to_of
from tests.bot_harness import content_jpeg

ALICE = {"id": 2001, "is_bot": False, "first_name": "Alice"}
BOB = {"id": 2002, "is_bot": False, "first_name": "Bob"}
GROUP = {"id": -4242, "type": "group", "title": "Painters"}


def test_stylize_caption_in_group_and_foreign_presses_refused(harness: BotHarness) -> None:
    h = harness
    photo = h.photo(ALICE, content_jpeg(), chat=GROUP, caption="/stylize")
    h.feed(photo)
    keyboard = h.last("sendMessage").result
    assert keyboard["chat"]["id"] == GROUP["id"]
    pick = button(keyboard, "1.")
    # Bob presses Alice's button: a short refusal, nothing else
    before = len(h.tg.calls)
    h.feed(h.press(BOB, keyboard, pick))
    after = [c.method for c in h.tg.calls[before:]]
    assert after == ["answerCallbackQuery"]
    assert "belong" in h.last("answerCallbackQuery").params["text"]
    # Alice's press paints, replying in the group to her photo
    h.feed(h.press(ALICE, keyboard, pick))
    sent = h.last("sendPhoto")
    assert sent.params["chat_id"] == GROUP["id"]
    assert reply_to_of(sent) == photo["message"]["message_id"]
    # and the result keyboard is hers too
    result = sent.result
    before = len(h.tg.calls)
    h.feed(h.press(BOB, result, button(result, "50%")))
    assert [c.method for c in h.tg.calls[before:]] == ["answerCallbackQuery"]


def test_group_photo_without_command_is_ignored(harness: BotHarness) -> None:
    h = harness
    h.feed(h.photo(ALICE, content_jpeg(), chat=GROUP))
    h.feed(h.tg.sticker_update(GROUP, ALICE, chat_type="group"))
    h.feed(h.tg.text_update(GROUP, ALICE, "nice weather", chat_type="group"))
    assert [c.method for c in h.tg.calls if c.method != "getMe"] == []


def test_stylize_as_reply_to_someone_elses_photo(harness: BotHarness) -> None:
    h = harness
    photo = h.photo(ALICE, content_jpeg(), chat=GROUP)
    h.feed(photo)  # privacy mode would hide it; the bot ignores it anyway
    command = h.tg.text_update(GROUP, BOB, "/stylize@FreeStyleTransferBot",
                               reply_to=photo["message"], chat_type="group")
    h.feed(command)
    keyboard = h.last("sendMessage").result
    assert reply_to_of(h.last("sendMessage")) == command["message"]["message_id"]
    h.feed(h.press(ALICE, keyboard, button(keyboard, "2.")))
    assert not h.calls("sendPhoto"), "the keyboard belongs to Bob, who asked"
    h.feed(h.press(BOB, keyboard, button(keyboard, "2.")))
    sent = h.last("sendPhoto")
    assert reply_to_of(sent) == photo["message"]["message_id"]


def test_stylize_without_photo_explains(harness: BotHarness) -> None:
    h = harness
    h.feed(h.tg.text_update(GROUP, BOB, "/stylize", chat_type="group"))
    assert "/stylize" in h.texts()[-1]


def test_own_style_in_group_via_reply(harness: BotHarness) -> None:
    h = harness
    photo = h.photo(ALICE, content_jpeg(), chat=GROUP, caption="/stylize")
    h.feed(photo)
    keyboard = h.last("sendMessage").result
    h.feed(h.press(ALICE, keyboard, buttons(keyboard)["🖼 Use my own style"]))
    prompt = h.last("sendMessage")
    assert prompt.params["reply_markup"].get("force_reply") is True
    assert prompt.params["reply_markup"].get("selective") is True
    style = h.photo(ALICE, content_jpeg("eiffel_tower.jpg"), chat=GROUP,
                    reply_to=prompt.result)
    h.feed(style)
    sent = h.last("sendPhoto")
    assert reply_to_of(sent) == photo["message"]["message_id"]
    assert "Style: your second photo" in sent.params["caption"]


def test_inline_mode_lists_results_and_share_opens_one(harness: BotHarness) -> None:
    h = harness
    h.feed(h.tg.inline_query_update(ALICE, ""))
    empty = h.last("answerInlineQuery")
    assert empty.params["results"] == []
    assert empty.params["button"]["start_parameter"]
    chat = {"id": ALICE["id"], "type": "private", "first_name": "Alice"}
    for prefix in ("1.", "2."):
        h.feed(h.photo(ALICE, content_jpeg(), chat=chat))
        keyboard = h.last("sendMessage").result
        h.feed(h.press(ALICE, keyboard, button(keyboard, prefix)))
    results = [c.result for c in h.calls("sendPhoto")]
    h.feed(h.tg.inline_query_update(ALICE, ""))
    listed = h.last("answerInlineQuery").params
    assert [r["type"] for r in listed["results"]] == ["photo", "photo"]
    newest_first = [r["photo"][-1]["file_id"] for r in reversed(results)]
    assert [r["photo_file_id"] for r in listed["results"]] == newest_first
    assert listed["is_personal"] is True
    # ↗ Share pre-fills the query with that result's id: exactly that one comes back
    share = buttons(results[0])["↗ Share"]
    h.feed(h.tg.inline_query_update(ALICE, share))
    chosen = h.last("answerInlineQuery").params["results"]
    assert [r["photo_file_id"] for r in chosen] == [results[0]["photo"][-1]["file_id"]]
    # Bob sees none of Alice's paintings
    h.feed(h.tg.inline_query_update(BOB, ""))
    assert h.last("answerInlineQuery").params["results"] == []
