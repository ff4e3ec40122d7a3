"""The fake Bot API, proven against a real python-telegram-bot client and raw HTTP."""
from __future__ import annotations

import asyncio
import datetime as dtm
import io
import json
import os
import socket
import threading
import time

import httpx
import pytest
import telegram
from PIL import Image
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.error import BadRequest, Conflict, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, CommandHandler

from devkit.fake_telegram import (
    FakeTelegram,
    chat,
    command_entities,
    photo_ladder,
    serve,
    user,
)

ALICE = user(7001, "Alice", username="alice")
HTTP = httpx.Client(timeout=10)        # one client: creating one per call costs ~50 ms


@pytest.fixture(scope="module", autouse=True)
def _close_http():
    yield
    HTTP.close()


@pytest.fixture
def tg():
    yield from serve()


def image_bytes(size=(640, 480), fmt="JPEG", color=(200, 40, 40), exif=None) -> bytes:
    out = io.BytesIO()
    kwargs = {"exif": exif} if exif is not None else {}
    Image.new("RGB", size, color).save(out, fmt, **kwargs)
    return out.getvalue()


def run_bot(tg: FakeTelegram, fn):
    """Run ``await fn(bot)`` with a real, initialised PTB Bot pointed at the fake."""

    async def main():
        bot = telegram.Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url)
        async with bot:
            return await fn(bot)

    return asyncio.run(main())


def api(tg: FakeTelegram, method: str, **kw) -> httpx.Response:
    return HTTP.post(f"{tg.base_url}{tg.token}/{method}", **kw)


# ---------------------------------------------------------------------------------- basics

def test_get_me_and_routing(tg):
    me = run_bot(tg, lambda bot: bot.get_me())
    assert (me.id, me.is_bot, me.username) == (123, True, "FreeStyleTransferBot")
    assert tg.api_base.startswith("http://127.0.0.1:") and tg.port > 0
    assert tg.env() == {"TELEGRAM_BOT_TOKEN": "123:ABC", "TELEGRAM_API_BASE": tg.api_base}

    wrong = HTTP.post(f"{tg.base_url}123:WRONG/getMe")
    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    unknown = api(tg, "noSuchMethod")
    assert unknown.status_code == 404 and unknown.json()["description"] == "Not Found"
    # method names are case-insensitive, like Telegram's; GET with query params works
    got = HTTP.get(f"{tg.base_url}{tg.token}/getme")
    assert got.json()["result"]["id"] == 123
    assert [c.method for c in tg.calls][-2:] == ["noSuchMethod", "getMe"]
    assert api(tg, "logOut").json() == {"ok": True, "result": True}
    assert api(tg, "close").json()["result"] is True


def test_multipart_json_form_and_query_recorded_alike(tg):
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go:1"}]]}
    params = {"chat_id": 42, "text": "[not json] 123", "disable_notification": True,
              "reply_markup": markup, "reply_parameters": {"message_id": 3}}
    as_form = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in params.items()}
    api(tg, "sendMessage", json=params)
    api(tg, "sendMessage", data=as_form)
    api(tg, "sendMessage", data=as_form, files={"thumb": ("t.bin", b"\x00\xffbytes")})
    HTTP.get(f"{tg.base_url}{tg.token}/sendMessage", params=as_form)
    calls = tg.wait_for("sendMessage", 4)
    assert [c.content_type for c in calls] == [
        "application/json", "application/x-www-form-urlencoded", "multipart/form-data", ""]
    assert [c.http_method for c in calls] == ["POST", "POST", "POST", "GET"]
    for c in calls:
        assert c.params == params and c.ok
        assert c.result["reply_markup"] == markup
    assert calls[2].files == {"thumb": b"\x00\xffbytes"}
    assert calls[2].file_names["thumb"][0] == "t.bin"


def test_a_request_cut_off_mid_body_is_not_a_call(tg):
    """A client that gives up half-way through sending (a cancelled task closes its
    connection) has made no request: Telegram never sees half a body, so neither does a test."""
    body = b"chat_id=42&text=" + "⏳ You're #1 in line".encode()
    head = (f"POST /bot{tg.token}/sendMessage HTTP/1.1\r\nHost: fake\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    host, port = httpx.URL(tg.base_url).host, httpx.URL(tg.base_url).port
    with socket.create_connection((host, port)) as conn:
        conn.sendall(head + body[:12])
        conn.shutdown(socket.SHUT_WR)
        assert conn.recv(1024) == b"", "the fake answered half a request"
    assert tg.calls_to("sendMessage") == []


def test_wait_for_across_threads(tg):

    def later():
        time.sleep(0.2)
        for _ in range(2):
            api(tg, "sendChatAction", data={"chat_id": "5", "action": "typing"})

    t0 = time.monotonic()
    threading.Thread(target=later, daemon=True).start()
    calls = tg.wait_for("sendChatAction", count=2, timeout=5)
    assert len(calls) == 2 and all(c.status == 200 for c in calls)
    assert 0.15 < time.monotonic() - t0 < 3
    with pytest.raises(AssertionError, match="sendMessage"):
        tg.wait_for("sendMessage", timeout=0.2)
    tg.reset_calls()
    assert tg.calls == [] and tg.calls_to("sendChatAction") == []
    bad = api(tg, "sendChatAction", data={"chat_id": "5", "action": "dancing"})
    assert bad.json()["description"] == "Bad Request: wrong parameter action in request"


# ---------------------------------------------------------------------------------- photos

def test_send_photo_sizes_and_download(tg):
    big = image_bytes((2000, 1000), "PNG")
    small = image_bytes((500, 700))

    async def scenario(bot):
        m_big = await bot.send_photo(5, big, caption="done")
        m_small = await bot.send_photo(5, small)
        f = await bot.get_file(m_big.photo[-1].file_id)
        data = bytes(await f.download_as_bytearray())
        f_small = await bot.get_file(m_small.photo[-1].file_id)
        data_small = bytes(await f_small.download_as_bytearray())
        again = await bot.send_photo(6, m_big.photo[-1].file_id)     # re-use own file_id
        return m_big, m_small, f, data, data_small, again

    m_big, m_small, f, data, data_small, again = run_bot(tg, scenario)
    assert [(p.width, p.height) for p in m_big.photo] == [
        (90, 45), (320, 160), (800, 400), (1280, 640)]
    assert [(p.width, p.height) for p in m_small.photo] == [(64, 90), (229, 320), (500, 700)]
    assert m_big.caption == "done" and m_big.from_user.username == "FreeStyleTransferBot"
    assert m_small.message_id == m_big.message_id + 1
    for p in m_big.photo:
        assert p.file_id in tg.sent_files and p.file_size == len(tg.sent_files[p.file_id])
        assert p.file_unique_id
    assert f.file_path.endswith(".jpg") and f.file_size == len(data)
    assert Image.open(io.BytesIO(data)).size == (1280, 640)       # downsized like Telegram
    assert data_small == small                                    # small enough: kept as sent
    assert tg.calls_to("sendPhoto")[0].files["photo"] == big
    assert [p.file_id for p in again.photo] == [p.file_id for p in m_big.photo]
    assert tg.downloads and photo_ladder(100, 50) == [(90, 45), (100, 50)]


def test_photo_errors(tg):

    async def scenario(bot):
        errors = []
        for photo in (b"not an image", image_bytes((4000, 100)), "unknown-file-id"):
            with pytest.raises(BadRequest) as exc:
                await bot.send_photo(5, photo)
            errors.append(exc.value.message.lower())     # PTB re-capitalises messages
        return errors

    assert run_bot(tg, scenario) == ["image_process_failed", "photo_invalid_dimensions",
                                     "wrong file identifier/http url specified"]


def test_send_document_and_media_group(tg):
    png = image_bytes((1000, 400), "PNG")

    async def scenario(bot):
        doc = await bot.send_document(5, png, filename="styled.png", caption="<b>full</b>",
                                      parse_mode="HTML")
        album = await bot.send_media_group(5, [
            telegram.InputMediaPhoto(image_bytes((300, 200)), caption="a"),
            telegram.InputMediaPhoto(image_bytes((200, 300))),
        ])
        f = await bot.get_file(doc.document.file_id)
        return doc, album, bytes(await f.download_as_bytearray())

    doc, album, data = run_bot(tg, scenario)
    d = doc.document
    assert (d.file_name, d.mime_type, d.file_size) == ("styled.png", "image/png", len(png))
    assert (d.thumbnail.width, d.thumbnail.height) == (320, 128)
    assert doc.caption == "full" and data == png and tg.sent_files[d.file_id] == png
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    assert album[0].caption == "a" and album[1].caption is None
    assert [(m.photo[-1].width, m.photo[-1].height) for m in album] == [(300, 200), (200, 300)]
    call = tg.calls_to("sendMediaGroup")[0]
    assert [m["media"].removeprefix("attach://") for m in call.params["media"]] == list(call.files)


def test_user_files_and_get_file(tg):
    jpeg = image_bytes((900, 600))
    fid = tg.add_file(jpeg)
    huge = tg.add_file(b"x" * 100, file_size=25 * 1024 * 1024)
    upd = tg.photo_update(None, ALICE, fid, 900, 600, caption="/style starry")
    thumb_id = upd["message"]["photo"][0]["file_id"]

    async def scenario(bot):
        f = await bot.get_file(fid)
        data = bytes(await f.download_as_bytearray())
        thumb = await (await bot.get_file(thumb_id)).download_as_bytearray()
        with pytest.raises(BadRequest, match="File is too big"):
            await bot.get_file(huge)
        with pytest.raises(BadRequest, match="Invalid file_id"):
            await bot.get_file("nope")
        return f, data, bytes(thumb)

    f, data, thumb = run_bot(tg, scenario)
    assert f.file_path.startswith("photos/file_") or "/photos/file_" in f.file_path
    assert f.file_path.endswith(".jpg") and data == jpeg and f.file_size == len(jpeg)
    assert Image.open(io.BytesIO(thumb)).size == (90, 60)
    assert HTTP.get(f"{tg.base_file_url}{tg.token}/photos/missing.jpg").status_code == 404


def test_a_held_download_is_seen_as_asked_for(tg):
    """wait_for_file_request returns while the download is still held, so a test can act
    (kill a worker, …) inside it; stopping the fake ends the hold and lets the held answer
    go out whole (a large file, so that closing the connections early cuts it off)."""
    fid = tg.add_file(os.urandom(8 << 20), kind="document", file_path="documents/big.bin")
    path = run_bot(tg, lambda bot: bot.get_file(fid)).file_path
    url = path if path.startswith("http") else f"{tg.base_file_url}{tg.token}/{path}"
    tg.delay_next("file", 60)
    got: list[int] = []
    fetch = threading.Thread(target=lambda: got.append(httpx.get(url, timeout=90).status_code))
    fetch.start()
    tg.wait_for_file_request(1)
    assert tg.downloads == [] and not got, "the download was not held"
    tg.stop()
    fetch.join(30)
    assert got == [200] and len(tg.downloads) == 1


def test_send_photo_from_user_is_upright_and_replies_resolve(tg):
    exif = Image.Exif()
    exif[0x0112] = 6                                   # rotate 90°: displayed portrait
    sideways = image_bytes((1600, 1000), exif=exif)
    group = chat(555, "group", "Artists")
    upd = tg.send_photo_from_user(group, ALICE, sideways, caption="hello")
    msg = upd["message"]
    assert group["id"] == -555 and msg["chat"]["type"] == "group"
    assert [(p["width"], p["height"]) for p in msg["photo"]][-1] == (800, 1280)
    assert Image.open(io.BytesIO(tg.file_bytes(msg["photo"][-1]["file_id"]))).size == (800, 1280)

    async def scenario(bot):
        rp = ReplyParameters(msg["message_id"])
        kb = InlineKeyboardMarkup([[InlineKeyboardButton("Again", callback_data="again")]])
        reply = await bot.send_message(group["id"], "styled!", reply_parameters=rp,
                                       reply_markup=kb)
        orphan = await bot.send_message(group["id"], "x", reply_to_message_id=999)
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(group["id"], "x", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("x", callback_data="y" * 65)]]))
        return reply, orphan

    reply, orphan = run_bot(tg, scenario)
    assert reply.reply_to_message.message_id == msg["message_id"]
    assert reply.reply_to_message.photo[-1].file_id == msg["photo"][-1]["file_id"]
    assert reply.reply_to_message.caption == "hello"
    assert reply.message_id == msg["message_id"] + 1             # per-chat ids continue
    assert reply.reply_markup.inline_keyboard[0][0].callback_data == "again"
    assert reply.chat.title == "Artists" and orphan.reply_to_message.message_id == 999


# ---------------------------------------------------------------------------------- editing

def test_edits_and_deletes_like_telegram(tg):
    kb = InlineKeyboardMarkup([[InlineKeyboardButton("Stop", callback_data="stop")]])

    async def scenario(bot):
        m = await bot.send_message(5, "working…", reply_markup=kb)
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text("working…", 5, m.message_id, reply_markup=kb)
        edited = await bot.edit_message_text("done", 5, m.message_id)
        assert edited.text == "done" and edited.reply_markup is None and edited.edit_date
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", 5, 4242)
        with pytest.raises(BadRequest, match="There is no caption in the message to edit"):
            await bot.edit_message_caption(5, m.message_id, caption="c")
        marked = await bot.edit_message_reply_markup(5, m.message_id, reply_markup=kb)
        assert marked.reply_markup == kb

        p = await bot.send_photo(5, image_bytes((400, 300)), caption="v1")
        with pytest.raises(BadRequest, match="There is no text in the message to edit"):
            await bot.edit_message_text("x", 5, p.message_id)
        cap = await bot.edit_message_caption(5, p.message_id, caption="v2")
        assert cap.caption == "v2"
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_caption(5, p.message_id, caption="v2")
        media = await bot.edit_message_media(
            telegram.InputMediaPhoto(image_bytes((300, 400)), caption="v3"), 5, p.message_id)
        assert (media.photo[-1].width, media.caption) == (300, "v3")
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_media(telegram.InputMediaPhoto(
                media.photo[-1].file_id, caption="v3"), 5, p.message_id)
        assert await bot.delete_message(5, p.message_id) is True
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(5, p.message_id)
        return True

    assert run_bot(tg, scenario)
    user_msg = tg.push_update(tg.text_update(None, ALICE, "hi"))["message"]
    r = api(tg, "editMessageText", json={"chat_id": ALICE["id"], "text": "x",
                                         "message_id": user_msg["message_id"]})
    assert r.json()["description"] == "Bad Request: message can't be edited"
    assert tg.errors == []


def test_callback_and_inline_answers(tg):

    async def scenario(bot):
        assert await bot.answer_callback_query("q1", text="ok")
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query("q1")
        res = [telegram.InlineQueryResultArticle(
            "1", "Starry", telegram.InputTextMessageContent("starry"))]
        assert await bot.answer_inline_query("iq1", res, cache_time=0)
        return True

    assert run_bot(tg, scenario)
    results = tg.calls_to("answerInlineQuery")[0].params["results"]
    assert results[0]["id"] == "1" and tg.calls_to("answerInlineQuery")[0].params["cache_time"] == 0


# ---------------------------------------------------------------------------------- faults

def test_fault_injection(tg, monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fid = tg.add_file(b"abc", file_size=3)

    async def scenario(bot):
        tg.fail_next("sendMessage", status=429, retry_after=7)
        with pytest.raises(RetryAfter) as exc:
            await bot.send_message(5, "a")
        assert exc.value.retry_after == dtm.timedelta(seconds=7)
        assert (await bot.send_message(5, "b")).text == "b"        # only the next one failed

        tg.fail_next("sendMessage", status=502)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(5, "c")
        tg.fail_next("*", status=500, description="Internal Server Error")
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_chat_action(5, "typing")
        tg.fail_next("sendMessage", status=403)
        with pytest.raises(telegram.error.Forbidden, match="blocked"):
            await bot.send_message(5, "d")

        tg.reset_next("sendMessage")
        with pytest.raises(NetworkError):
            await bot.send_message(5, "e")

        tg.delay_next("sendMessage", 0.5)
        with pytest.raises(TimedOut):
            await bot.send_message(5, "f", read_timeout=0.2)
        f = await bot.get_file(fid)
        tg.delay_next("file", 0.5)
        with pytest.raises(TimedOut):
            await f.download_as_bytearray(read_timeout=0.2)
        tg.fail_next("file", status=502)
        with pytest.raises(NetworkError):
            await f.download_as_bytearray()
        return bytes(await f.download_as_bytearray())

    assert run_bot(tg, scenario) == b"abc"
    # the delayed call is answered (to nobody) once its delay is over
    statuses = [c.status for c in tg.wait_for("sendMessage", 6)]
    assert statuses[:6] == [429, 200, 502, 403, 0, 200]
    assert tg.calls_to("sendMessage")[0].response == {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7}}


# ---------------------------------------------------------------------------------- updates

def test_get_updates_long_poll_and_offset(tg):

    async def scenario(bot):
        t0 = time.monotonic()                 # nothing queued: the poll waits out its timeout
        assert api(tg, "getUpdates", json={"timeout": 0.3}).json() == {"ok": True, "result": []}
        assert 0.25 < time.monotonic() - t0 < 2

        threading.Timer(0.2, tg.push_update, [tg.text_update(None, ALICE, "/start")]).start()
        t0 = time.monotonic()
        first = await bot.get_updates(timeout=5)
        assert len(first) == 1 and time.monotonic() - t0 < 3
        assert first[0].message.text == "/start" and first[0].message.entities[0].type == \
            "bot_command"
        again = await bot.get_updates(timeout=0)                 # not confirmed yet
        assert [u.update_id for u in again] == [first[0].update_id]

        for text in ("a", "b", "c"):
            tg.push_update(tg.text_update(None, ALICE, text))
        rest = await bot.get_updates(offset=first[0].update_id + 1, timeout=0)
        assert [u.message.text for u in rest] == ["a", "b", "c"]
        limited = await bot.get_updates(offset=first[0].update_id + 1, limit=2)
        assert len(limited) == 2
        last = await bot.get_updates(offset=-1)
        assert [u.message.text for u in last] == ["c"]
        assert await bot.get_updates(offset=rest[-1].update_id + 1) == ()
        assert tg.pending_updates == []
        return True

    assert run_bot(tg, scenario)


def test_ptb_application_polls_and_replies(tg):
    """The real Updater loop: long poll, handler reply, offset confirmed on stop."""

    async def main():
        app = (Application.builder().token(tg.token).base_url(tg.base_url)
               .base_file_url(tg.base_file_url).build())

        async def start(update, context):
            await update.message.reply_text(f"hello {update.effective_user.first_name}",
                                            do_quote=True)

        app.add_handler(CommandHandler("start", start))
        async with app:
            await app.start()
            await app.updater.start_polling(timeout=5, poll_interval=0)
            tg.push_update(tg.text_update(None, ALICE, "/start"))
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, tg.wait_for, "sendMessage")
            await app.updater.stop()
            await app.stop()

    asyncio.run(main())
    sent = tg.calls_to("sendMessage")[0]
    assert sent.params["chat_id"] == ALICE["id"] and sent.result["text"] == "hello Alice"
    assert sent.params["reply_parameters"]["message_id"] == \
        sent.result["reply_to_message"]["message_id"]
    assert tg.calls_to("deleteWebhook") and tg.pending_updates == []      # confirmed
    assert tg.errors == []


def test_webhook_and_commands(tg):

    async def scenario(bot):
        with pytest.raises(BadRequest, match="(?i)HTTPS URL must be provided"):
            await bot.set_webhook("http://example.com/hook")
        assert await bot.set_webhook("https://example.com/hook", secret_token="s3cret",
                                     max_connections=10)
        info = await bot.get_webhook_info()
        assert (info.url, info.max_connections) == ("https://example.com/hook", 10)
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        assert await bot.delete_webhook(drop_pending_updates=True)
        assert (await bot.get_webhook_info()).url == ""

        cmds = [telegram.BotCommand("start", "Start"), telegram.BotCommand("styles", "List")]
        assert await bot.set_my_commands(cmds)
        assert await bot.get_my_commands() == tuple(cmds)
        with pytest.raises(BadRequest, match="Bot_command_invalid"):
            await bot.set_my_commands([telegram.BotCommand("Bad-Name", "x")])
        assert await bot.delete_my_commands()
        assert await bot.get_my_commands() == ()
        return True

    assert run_bot(tg, scenario)
    assert tg.webhook is None


def test_builders_parse_in_ptb(tg, monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "true")                  # durations as timedelta
    bot = telegram.Bot(tg.token)
    sg = chat(77, "supergroup", "Studio")
    photo_id = tg.add_file(image_bytes((1024, 768)))
    sent = run_bot(tg, lambda b: b.send_message(ALICE["id"], "Pick a style"))

    def parse(update: dict) -> Update:
        json.dumps(update)                                      # plain JSON, as on the wire
        return Update.de_json(update, bot)

    photo = parse(tg.photo_update(sg, ALICE, photo_id, 1024, 768, caption="/style@FreeStyle"
                                  "TransferBot starry", media_group_id="mg1"))
    m = photo.message
    assert m.chat.id == -1000000000077 and m.chat.type == "supergroup"
    assert m.photo[-1].file_id == photo_id and (m.photo[-1].width, m.photo[-1].height) == (
        1024, 768)
    assert [p.width for p in m.photo] == [90, 320, 800, 1024] and m.media_group_id == "mg1"
    assert m.caption_entities[0].type == "bot_command" and m.caption_entities[0].length == 27
    assert m.photo[-1].file_size == len(tg.file_bytes(photo_id))

    doc = parse(tg.document_update(None, ALICE, tg.add_file(b"%PDF", kind="document"),
                                   "image/jpeg", "raw.jpg", 4)).message.document
    assert (doc.mime_type, doc.file_name, doc.file_size) == ("image/jpeg", "raw.jpg", 4)

    cb = parse(tg.callback_update(None, ALICE, sent.to_dict(), "style:starry")).callback_query
    assert cb.data == "style:starry" and cb.message.message_id == sent.message_id
    assert cb.from_user.id == ALICE["id"] and cb.message.from_user.is_bot and cb.chat_instance

    iq = parse(tg.inline_query_update(ALICE, "starry")).inline_query
    assert (iq.query, iq.offset, iq.from_user.username) == ("starry", "", "alice")

    st = parse(tg.sticker_update(None, ALICE)).message.sticker
    assert st.type == "regular" and st.emoji and st.width == 512
    vid = parse(tg.video_update(None, ALICE, duration=4)).message.video
    assert (vid.width, vid.height, vid.mime_type) == (640, 360, "video/mp4")
    assert vid.duration == dtm.timedelta(seconds=4)
    voice = parse(tg.voice_update(None, ALICE)).message.voice
    assert voice.mime_type == "audio/ogg"

    text = parse(tg.text_update(chat(9, "group"), ALICE, "/help me", reply_to=sent.to_dict()))
    assert text.message.chat.id == -9 and text.message.reply_to_message.text == "Pick a style"
    assert text.effective_user.id == ALICE["id"]
    ids = [tg.next_update_id() for _ in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert command_entities("no command") == [] and command_entities("/s")[0]["length"] == 2


def test_stop_wakes_long_poll():
    tg = FakeTelegram().start()
    result = {}

    def poll():
        try:
            result["r"] = api(tg, "getUpdates", json={"timeout": 30}).json()
        except httpx.HTTPError as exc:
            result["r"] = exc

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    tg.wait_for("getUpdates", answered=False)
    t0 = time.monotonic()
    tg.stop()
    t.join(5)
    assert not t.is_alive() and time.monotonic() - t0 < 3
