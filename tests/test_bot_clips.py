"""Clips in the bot, end to end against the fake Bot API: animations, GIF files, videos
and round videos come back as painted, looping animations; bad clips get one sentence."""
from __future__ import annotations

import io
from pathlib import Path

import av
import pytest
from PIL import Image

from bot import texts
from bot.handlers import progress as progress_notes
from bot.i18n import ENGLISH
from bot.jobs import FairScheduler
from nst.video import open_clip
from devkit import clip_factory as cf
from devkit.bot_harness import BotHarness, button, buttons, reply_to_of
from tests.bot_harness import content_jpeg
from tests.conftest import MAGENTA_DIR
from devkit.clip_factory import audio_only, encode_clip, gif_canvas_bomb

ALICE = {"id": 1001, "is_bot": False, "first_name": "Alice"}
BOB = {"id": 1002, "is_bot": False, "first_name": "Bob"}
PHOTO = MAGENTA_DIR / "content" / "golden_gate_sq.jpg"
GROUP = {"id": -100777, "type": "supergroup", "title": "Friends"}


def _clip(tmp_path: Path, frames: int = 8, size=(128, 80), ext: str = ".mp4") -> bytes:
    return cf.write_clip(cf.pan(PHOTO, frames, size), tmp_path / f"clip{ext}").read_bytes()


def _animation(h: BotHarness, data: bytes, user=ALICE, **kw) -> dict:
    fid = h.tg.add_file(data, kind="animation")
    return h.tg.animation_update(kw.pop("chat", None), user, fid, file_size=len(data), **kw)


def _pick_first(h: BotHarness, user=ALICE) -> None:
    keyboard = h.last("sendMessage").result
    h.feed(h.press(user, keyboard, button(keyboard, "1.")))


def _mp4_frames(data: bytes) -> tuple[int, str, str]:
    with av.open(io.BytesIO(data)) as c:
        stream = c.streams.video[0]
        frames = sum(1 for _ in c.decode(stream))
        return frames, stream.codec_context.name, stream.codec_context.pix_fmt


def test_animation_in_private_chat_comes_back_painted(harness: BotHarness, tmp_path) -> None:
    h = harness
    update = _animation(h, _clip(tmp_path))
    h.feed(update)
    keyboard = h.last("sendMessage")
    assert keyboard.params["text"] == texts.CHOOSE_STYLE_CLIP
    _pick_first(h)
    sent = h.last("sendAnimation")
    assert reply_to_of(sent) == update["message"]["message_id"]
    caption = sent.params["caption"]
    assert "The Starry Night" in caption and "Strength 100%" in caption
    assert _mp4_frames(sent.files["animation"]) == (8, "h264", "yuv420p")
    assert (sent.params["width"], sent.params["height"]) == (128, 80)
    labels = set(buttons(sent.result))
    assert "⬇ HD" not in labels and {"50%", "🔁 Another style", "➕ Mix"} <= labels
    assert {c.params["action"] for c in h.calls("sendChatAction")} == {"upload_video"}
    assert not h.calls("sendPhoto")
    # strength 50 %: the same message is edited with the new painting
    h.feed(h.press(ALICE, sent.result, button(sent.result, "50%")))
    edit = h.last("editMessageMedia")
    assert edit.ok and edit.result["message_id"] == sent.result["message_id"]
    assert "animation" in edit.result and "Strength 50%" in edit.result["caption"]
    # keep colours: edited again; ➕ mix: a second painting, a new animation
    h.feed(h.press(ALICE, edit.result, button(edit.result, "🎨 Keep colours")))
    assert "colours kept" in h.last("editMessageMedia").result["caption"]
    h.feed(h.press(ALICE, edit.result, button(edit.result, "➕ Mix")))
    mix_keyboard = h.last("sendMessage").result
    h.feed(h.press(ALICE, mix_keyboard, button(mix_keyboard, "2.")))
    mixed = h.last("sendAnimation")
    assert mixed.result["message_id"] != sent.result["message_id"]
    assert "×" in mixed.params["caption"]
    assert h.app.bot_data.queue.pending(ALICE["id"]) == 0


def test_clip_with_own_style_photo(harness: BotHarness, tmp_path) -> None:
    h = harness
    h.feed(_animation(h, _clip(tmp_path)))
    keyboard = h.last("sendMessage").result
    h.feed(h.press(ALICE, keyboard, button(keyboard, "🖼")))               # use my own style
    h.feed(h.photo(ALICE, content_jpeg("eiffel_tower.jpg", side=200)))   # … this photo
    sent = h.last("sendAnimation")
    assert sent.params["caption"].startswith("🖼")


def test_group_stylize_reply_to_an_animation(harness: BotHarness, tmp_path) -> None:
    h = harness
    clip = _animation(h, _clip(tmp_path), chat=GROUP, chat_type="supergroup")
    h.feed(clip)
    assert not h.calls("sendMessage")             # a GIF in a group is not for me …
    ask = h.tg.text_update(GROUP, BOB, "/stylize", reply_to=clip["message"],
                           chat_type="supergroup")
    h.feed(ask)                                   # … until someone replies /stylize
    keyboard = h.last("sendMessage").result
    assert keyboard["chat"]["id"] == GROUP["id"]
    h.feed(h.press(ALICE, keyboard, button(keyboard, "1.")))   # not Alice's buttons
    assert not h.calls("sendAnimation")
    h.feed(h.press(BOB, keyboard, button(keyboard, "1.")))
    sent = h.last("sendAnimation")
    assert sent.params["chat_id"] == GROUP["id"]
    assert reply_to_of(sent) == clip["message"]["message_id"]
    # a GIF captioned /stylize is for me too
    captioned = _animation(h, _clip(tmp_path), user=BOB, chat=GROUP, chat_type="supergroup",
                           caption="/stylize")
    h.feed(captioned)
    assert reply_to_of(h.last("sendMessage")) == captioned["message"]["message_id"]
    assert h.last("sendMessage").params["text"] == texts.CHOOSE_STYLE_CLIP


def test_group_stylize_reply_to_a_broken_clip_is_refused_at_once(harness: BotHarness,
                                                                 tmp_path) -> None:
    """/stylize runs the same arrival check as a clip sent plainly: one sentence, no
    keyboard (before, it showed the paintings and failed only after a pick)."""
    h = harness
    broken = _animation(h, _clip(tmp_path)[:900], chat=GROUP, chat_type="supergroup")
    h.feed(broken)
    ask = h.tg.text_update(GROUP, BOB, "/stylize", reply_to=broken["message"],
                           chat_type="supergroup")
    h.feed(ask)
    assert h.texts() == [texts.CLIP_UNREADABLE]
    assert not h.last("sendMessage").params.get("reply_markup")
    assert reply_to_of(h.last("sendMessage")) == ask["message"]["message_id"]


@pytest.mark.parametrize("kind", ["video", "video_note", "gif_file", "mkv_file"])
def test_videos_round_videos_and_gif_files(harness: BotHarness, tmp_path, kind) -> None:
    h = harness
    if kind == "gif_file":
        data = _clip(tmp_path, 6, (96, 64), ".gif")
        update = h.document(ALICE, data, "funny.gif", mime_type="image/gif")
    elif kind == "mkv_file":   # any video/* file: FFmpeg sniffs the content
        data = _clip(tmp_path, 6, (96, 64))
        update = h.document(ALICE, data, "holiday.mkv", mime_type="video/x-matroska")
    else:
        data = _clip(tmp_path, 6, (96, 96))
        fid = h.tg.add_file(data, kind="video")
        make = h.tg.video_update if kind == "video" else h.tg.video_note_update
        update = make(None, ALICE, fid, file_size=len(data))
    h.feed(update)
    _pick_first(h)
    sent = h.last("sendAnimation")
    assert _mp4_frames(sent.files["animation"])[0] == 6


def test_one_frame_gif_is_painted_as_a_photo(harness: BotHarness) -> None:
    h = harness
    buf = io.BytesIO()
    Image.open(PHOTO).convert("RGB").resize((120, 120)).save(buf, "GIF")
    h.feed(h.document(ALICE, buf.getvalue(), "still.gif", mime_type="image/gif"))
    _pick_first(h)
    assert h.last("sendPhoto").ok and not h.calls("sendAnimation")
    assert "⬇ HD" in buttons(h.last("sendPhoto").result)


def test_long_video_is_cut_and_the_caption_says_so(harness: BotHarness, tmp_path) -> None:
    h = harness
    data = encode_clip(tmp_path / "long.mp4", 60, (96, 64), 2).read_bytes()   # 30 s at 2 fps
    fid = h.tg.add_file(data, kind="video")
    h.feed(h.tg.video_update(None, ALICE, fid, duration=30, file_size=len(data)))
    _pick_first(h)
    sent = h.last("sendAnimation")
    assert ENGLISH(texts.CLIP_CUT, count=10) in sent.params["caption"]
    assert _mp4_frames(sent.files["animation"])[0] == 20


@pytest.mark.parametrize("case, expected", [
    ("corrupt", texts.CLIP_UNREADABLE),
    ("audio_only", texts.CLIP_NO_VIDEO),
    ("zero_bytes", texts.CLIP_EMPTY),
    ("gif_canvas_bomb", texts.TOO_MANY_PIXELS),
])
def test_bad_clips_are_refused_on_arrival_and_nothing_sticks(harness: BotHarness, tmp_path,
                                                             case, expected) -> None:
    h = harness
    if case == "gif_canvas_bomb":   # a GIF file: FFmpeg and the picture decoder both refuse
        update = h.document(ALICE, gif_canvas_bomb(30000), "bomb.gif", mime_type="image/gif")
    else:
        data = {"corrupt": lambda: _clip(tmp_path)[:900],
                "audio_only": lambda: audio_only(tmp_path / "a.mp4").read_bytes(),
                "zero_bytes": lambda: b""}[case]()
        update = _animation(h, data)
    h.feed(update)   # refused on arrival: no keyboard for a clip I can't paint
    assert h.texts() == [expected]
    assert not h.calls("sendAnimation")
    assert h.app.bot_data.queue.pending(ALICE["id"]) == 0
    # the bot is alive and well: a good clip right after works
    h.feed(_animation(h, _clip(tmp_path)))
    _pick_first(h)
    assert h.last("sendAnimation").ok


def test_progress_message_counts_frames_and_goes_away(harness: BotHarness, tmp_path,
                                                      monkeypatch) -> None:
    monkeypatch.setattr(progress_notes, "PROGRESS_EVERY", 0.05)
    h = harness
    h.feed(_animation(h, _clip(tmp_path, 20, (160, 96))))
    _pick_first(h)
    progress = [c for c in h.calls("sendMessage")
                if c.params["text"].startswith("🎞")]
    assert len(progress) == 1
    assert progress[0].params["text"].endswith("/20 frames")
    edits = [c.params["text"] for c in h.calls("editMessageText")]
    assert all(t.startswith("🎞") and t.endswith("/20 frames") for t in edits)
    deleted = [c.params["message_id"] for c in h.calls("deleteMessage")]
    assert progress[0].result["message_id"] in deleted
    assert h.last("sendAnimation").ok


def test_fair_queue_counts_a_clip_by_its_cost() -> None:
    s: FairScheduler[str] = FairScheduler()
    s.push("alice", "clip", cost=4.0)
    s.push("alice", "a-photo")
    s.push("bob", "b1")
    assert s.pop() == "clip"          # alice first: her clip counts as 4 photos …
    for i in range(2, 6):
        s.push("bob", f"b{i}")
    # … so bob's photos go before her next one until his share catches up
    assert s.order() == ["b1", "b2", "b3", "b4", "a-photo", "b5"]


def test_painted_clip_is_a_telegram_friendly_mp4(harness: BotHarness, tmp_path) -> None:
    h = harness
    odd = _clip(tmp_path, 6, (101, 75), ".gif")               # odd sides in
    h.feed(h.document(ALICE, odd, "odd.gif", mime_type="image/gif"))
    _pick_first(h)
    out = tmp_path / "out.mp4"
    out.write_bytes(h.last("sendAnimation").files["animation"])
    data = out.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")          # faststart
    info = open_clip(out).info
    assert (info.width % 2, info.height % 2) == (0, 0) and info.frames == 6
