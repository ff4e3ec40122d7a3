"""Faults injected under the real webhook: Telegram flood control, 5xx and dropped
connections, slow downloads; Cloud Storage down, answering 503, or raced by several
instances; a damaged model. Nothing may be lost: every update ends in its result or in
one clear apology, and the store holds nothing half-done.

Worker processes killed mid-request are in tests/test_gunicorn.py (SQLite and GCS).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from bot import texts
from bot.ledger import NS, UpdateLedger
from bot.state import RENDERS, RESULTS, RESULTS_KEPT, USER_NAMESPACES, State
from bot.store import open_store
from bot.store.sqlite import SqliteStore
from bot.telegram_io import ATTEMPTS, BACKOFF
from nst.config import EngineConfig
from devkit import fake_gcs
from devkit.bot_harness import button
from tests.conftest import MODEL_DIR
from devkit.fake_telegram import Call, FakeTelegram
from tests.gcs_emulator import Emulator, emulator_env
from tests.webhook_harness import answered, ask_for_painting, assert_one_painting, images_to, poster

log = logging.getLogger(__name__)


def attempts(fake: FakeTelegram, method: str) -> list[Call]:
    """Every call to `method` so far, answered (failed ones included)."""
    return answered(fake, method)


def said_to(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [c.params.get("text", "") for c in answered(fake, "sendMessage")
            if c.ok and c.params.get("chat_id") == chat_id]


def alerts(fake: FakeTelegram) -> list[str]:
    """Texts of answerCallbackQuery calls (the toast on a pressed button)."""
    return [c.params.get("text") for c in answered(fake, "answerCallbackQuery")
            if c.params.get("text")]


def assert_honoured(calls: list[Call], retry_after: float) -> None:
    """First call 429, the next one succeeded, at least retry_after seconds later."""
    assert [c.status for c in calls] == [429, 200], [c.status for c in calls]
    assert calls[1].time - calls[0].time >= retry_after - 0.05


# --------------------------------------------------------------------------- Telegram

def test_429_on_send_message_and_send_photo(make_app, fake) -> None:
    post = poster(make_app())
    fake.fail_next("sendMessage", status=429, retry_after=1)       # the keyboard
    press = ask_for_painting(post, fake, 101)
    assert_honoured(attempts(fake, "sendMessage"), 1)
    fake.fail_next("sendPhoto", status=429, retry_after=2)
    assert post(press) == (200, "done")
    assert_honoured(attempts(fake, "sendPhoto"), 2)
    assert_one_painting(fake, 101)


def test_429_on_edit_message_media(make_app, fake) -> None:
    """Strength 50 %: the result is edited in place, after honouring retry_after."""
    post = poster(make_app())
    assert post(ask_for_painting(post, fake, 102)) == (200, "done")
    result = images_to(fake, 102)[0].result
    fake.fail_next("editMessageMedia", status=429, retry_after=1)
    assert post(fake.callback_update(None, 102, result, button(result, "50%"))) == (200, "done")
    assert_honoured(attempts(fake, "editMessageMedia"), 1)
    assert len(images_to(fake, 102)) == 1, "edited, not sent again"
    assert texts.TELEGRAM_FAILED not in said_to(fake, 102)


def test_429_on_edit_message_text(make_app, fake) -> None:
    """▶ pages the painting keyboard by editing its message."""
    post = poster(make_app())
    press = ask_for_painting(post, fake, 103)
    keyboard = fake.messages[(103, press["callback_query"]["message"]["message_id"])]
    fake.fail_next("editMessageText", status=429, retry_after=1)
    assert post(fake.callback_update(None, 103, keyboard, button(keyboard, "▶"))) == \
        (200, "done")
    assert_honoured(attempts(fake, "editMessageText"), 1)
    assert "(2/" in attempts(fake, "editMessageText")[-1].result["text"]
    assert said_to(fake, 103) == [said_to(fake, 103)[0]], "no apology, no extra message"


def test_5xx_retries_are_bounded_with_back_off_then_apology(make_app, fake, tmp_path) -> None:
    post = poster(make_app())
    press = ask_for_painting(post, fake, 104)
    fake.fail_next("sendPhoto", status=502, count=ATTEMPTS)
    assert post(press) == (200, "done")
    calls = attempts(fake, "sendPhoto")
    assert [c.status for c in calls] == [502] * ATTEMPTS, "bounded: no attempt after the last"
    gaps = [b.time - a.time for a, b in zip(calls, calls[1:])]
    assert all(gap >= BACKOFF * 2 ** i - 0.05 for i, gap in enumerate(gaps)), gaps
    assert said_to(fake, 104)[-1] == texts.TELEGRAM_FAILED
    store = open_store(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    assert store.scan(RESULTS, "u104:") == [], "no result recorded for an image never sent"
    assert store.get(NS, str(press["update_id"]))["state"] == "done"
    # the user taps again and gets the painting
    keyboard = fake.messages[(104, press["callback_query"]["message"]["message_id"])]
    assert post(fake.callback_update(None, 104, keyboard, button(keyboard, "1."))) == \
        (200, "done")
    assert_one_painting(fake, 104)


def test_connection_resets_are_retried(make_app, fake) -> None:
    post = poster(make_app())
    press = ask_for_painting(post, fake, 105)
    fake.reset_next("sendPhoto", count=2)
    fake.reset_next("getFile")
    assert post(press) == (200, "done")
    assert [c.status for c in attempts(fake, "sendPhoto")] == [0, 0, 200]
    assert_one_painting(fake, 105)


def test_download_timeout_is_retried(make_app, fake) -> None:
    """The file server stalls longer than the read timeout (5 s) once."""
    post = poster(make_app())
    press = ask_for_painting(post, fake, 106)
    fake.delay_next("file", 6)
    assert post(press) == (200, "done")
    assert_one_painting(fake, 106)


def test_download_that_keeps_failing_gets_an_apology_and_stores_nothing(make_app, fake,
                                                                        tmp_path) -> None:
    post = poster(make_app())
    press = ask_for_painting(post, fake, 107)
    fake.reset_next("file", count=ATTEMPTS)
    assert post(press) == (200, "done")
    assert images_to(fake, 107) == []
    assert said_to(fake, 107)[-1] == texts.TELEGRAM_FAILED
    store = open_store(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    assert store.scan(RESULTS, "u107:") == []
    assert all("result" not in doc for _, doc in store.scan(RENDERS, "u107:"))
    assert store.get(NS, str(press["update_id"]))["state"] == "done"


# --------------------------------------------------------------------------- Cloud Storage

def gcs_url(emulator: Emulator) -> str:
    """A fresh bucket, with short store timeouts so an outage is noticed in ~1 s."""
    return f"gs://{emulator.new_bucket('faults')}/bot?timeout=1&retry_deadline=1"


def test_gcs_stopped_mid_run(make_app, fake, gcs_emulator, caplog) -> None:
    post = poster(make_app(store_url=gcs_url(gcs_emulator)))
    press = ask_for_painting(post, fake, 111)
    with gcs_emulator.stopped(), caplog.at_level(logging.WARNING, logger="bot.ledger"):
        assert post(press) == (200, "done")
        photo = fake.send_photo_from_user(None, 111, _small_jpeg())
        assert post(photo) == (200, "done")
        assert post(photo) == (200, "duplicate"), "in-process dedupe while the store is down"
    assert any("store unavailable" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)
    assert alerts(fake)[-1] == texts.UNEXPECTED, "the button press got an apology"
    assert said_to(fake, 111)[-1] == texts.UNEXPECTED, "the photo got an apology"
    assert images_to(fake, 111) == []
    # back up: the same button now works
    keyboard = fake.messages[(111, press["callback_query"]["message"]["message_id"])]
    assert post(fake.callback_update(None, 111, keyboard, button(keyboard, "1."))) == \
        (200, "done")
    assert_one_painting(fake, 111)


def _small_jpeg() -> bytes:
    from tests.bot_harness import content_jpeg

    return content_jpeg(side=64)


class _Unavailable(BaseHTTPRequestHandler):
    """Cloud Storage having a bad day: 503 to everything."""

    def _answer(self) -> None:
        self.server.hits += 1                                    # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = json.dumps({"error": {"code": 503, "message": "Service Unavailable"}}).encode()
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def unavailable_gcs() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    server.hits = 0                                              # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_gcs_answering_503(make_app, fake, unavailable_gcs, caplog) -> None:
    host = f"http://127.0.0.1:{unavailable_gcs.server_address[1]}"
    with emulator_env(host), caplog.at_level(logging.WARNING, logger="bot.ledger"):
        post = poster(make_app(store_url="gs://any-bucket/bot?timeout=1&retry_deadline=1"))
        photo = fake.send_photo_from_user(None, 112, _small_jpeg())
        assert post(photo) == (200, "done")
        assert post(photo) == (200, "duplicate")
    assert said_to(fake, 112) == [texts.UNEXPECTED]
    assert unavailable_gcs.hits >= 4, "503s are retried (with back-off) before giving up"
    assert any("store unavailable" in r.getMessage() for r in caplog.records)


def test_catalog_on_gcs_keeps_working_from_its_warm_copy(make_app, fake, gcs_emulator,
                                                         tmp_path) -> None:
    from nst.catalog.push import push_presets
    from nst.config import BUILTIN_STYLES

    styles = f"gs://{gcs_emulator.new_bucket('styles')}/presets"
    push_presets(BUILTIN_STYLES, styles)
    engine = replace(EngineConfig.from_env(), styles=styles, cache_dir=tmp_path / "cache")
    app = make_app(engine=engine)
    assert app.test_client().get("/_ah/warmup").status_code == 200
    post = poster(app)
    with gcs_emulator.stopped():
        assert post(ask_for_painting(post, fake, 113)) == (200, "done")
        assert app.test_client().get("/healthz").status_code == 200
    assert_one_painting(fake, 113)


def test_instances_racing_on_one_bucket_claim_once(monkeypatch, tmp_path) -> None:
    """Eight "instances" (distinct GAE_INSTANCE) claim the same update_id at once on
    fake-gcs-server: its generation preconditions let exactly one win; the others are told
    "busy" (another live instance owns it), never "new"."""
    with fake_gcs.serve([bucket := "race"], tmp_path) as server:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
        ledgers = []
        for n in range(8):
            monkeypatch.setenv("GAE_INSTANCE", f"instance-{n}")
            ledgers.append(UpdateLedger(open_store(f"gs://{bucket}/bot"), lease=60))
        barrier = threading.Barrier(len(ledgers))
        verdicts: list[str] = []

        def claim(ledger: UpdateLedger) -> None:
            barrier.wait()
            verdicts.append(ledger.claim(424242))

        threads = [threading.Thread(target=claim, args=(ledger,)) for ledger in ledgers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(verdicts) == ["busy"] * 7 + ["new"]
        doc = open_store(f"gs://{bucket}/bot").get(NS, "424242")
        assert doc["state"] == "processing" and doc["owner"].startswith("instance-")


# --------------------------------------------------------------------------- the model

@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_damaged_model_app_starts_health_503_users_get_apology(make_app, fake, tmp_path,
                                                               damage, caplog) -> None:
    """(A flipped byte is tests/test_webhook.py's case; a model absent from NST_MODEL_DIR
    falls back to the vendored copy, see nst/models.py.)"""
    models = tmp_path / "models"
    shutil.copytree(MODEL_DIR, models)
    victim = models / "style_transfer_quantized_dynamic.tflite"
    os.chmod(victim, 0o644)
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 3] if damage == "truncated" else b"")
    app = make_app(engine=replace(EngineConfig.from_env(), model_dir=models))
    with caplog.at_level(logging.ERROR, logger="bot.runtime"):
        health = app.test_client().get("/healthz")
    assert health.status_code == 503
    assert health.get_json() == {"ok": False, "status": "unhealthy"}, "no internals shown"
    assert any("style_transfer_quantized_dynamic" in r.getMessage() for r in caplog.records)
    post = poster(app)
    press = ask_for_painting(post, fake, 121)
    assert post(press) == (200, "done")
    assert images_to(fake, 121) == []
    assert said_to(fake, 121)[-1] == texts.MODEL_FAILED


# --------------------------------------------------------------------------- slow answers

def test_slow_send_photo_answer_gives_one_painting_and_no_retry(make_app, fake, caplog) -> None:
    """Telegram carries out sendPhoto at once but answers 12 s later (a big upload being
    processed): the painting must arrive once, with no retry and no apology."""
    post = poster(make_app())
    press = ask_for_painting(post, fake, 131)
    fake.hold_answer("sendPhoto", 12)
    with caplog.at_level(logging.INFO):
        assert post(press) == (200, "done")
    assert_one_painting(fake, 131)
    assert not [r for r in caplog.records if "retrying" in r.getMessage()]
    assert texts.TELEGRAM_FAILED not in said_to(fake, 131)


def test_send_answered_after_the_timeout_counts_as_delivered(make_app, fake, caplog) -> None:
    """The keyboard's sendMessage is carried out but answered after the read timeout: it
    was (probably) delivered, so it is neither sent again nor apologised for."""
    post = poster(make_app())
    fake.hold_answer("sendMessage", 7)
    photo = fake.send_photo_from_user(None, 132, _small_jpeg())
    with caplog.at_level(logging.INFO):
        assert post(photo) == (200, "done")
    said = said_to(fake, 132)
    assert len(said) == 1 and said[0] == answered(fake, "sendMessage")[0].params["text"], said
    assert not [r for r in caplog.records if "retrying" in r.getMessage()]
    assert any("probably delivered" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)


# --------------------------------------------------------------------------- leases and the loop

def test_live_owner_keeps_its_claim_past_the_lease(make_app, fake, gcs_emulator,
                                                   monkeypatch) -> None:
    """Two instances on one bucket, a 2 s lease. Instance A's download hangs for 6 s (a
    queue wait, a 429 back-off or an HD render would do the same); Telegram's resend
    reaches instance B after A's first lease ran out. A renews its lease while it works,
    so B must answer "busy" rather than paint it a second time."""
    url = gcs_url(gcs_emulator)
    apps = []
    for name in ("instance-a", "instance-b"):
        monkeypatch.setenv("GAE_INSTANCE", name)
        app = make_app(store_url=url, claim_lease=2)
        assert app.test_client().get("/healthz").status_code == 200   # its ledger is `name`
        apps.append(app)
    a, b = poster(apps[0]), poster(apps[1])
    press = ask_for_painting(a, fake, 141)
    downloads = len(fake.calls_to("getFile"))
    fake.delay_next("file", 6)
    first: list[tuple[int, str]] = []
    owner = threading.Thread(target=lambda: first.append(a(press)))
    owner.start()
    fake.wait_for("getFile", downloads + 1, timeout=20)
    # Wait on what the bucket shows, not on a sleep: A's first lease has run out by the
    # clock the ledger uses, and A has renewed it since.
    store = open_store(url)
    first_lease = float(store.get(NS, str(press["update_id"]))["lease_until"])
    deadline = time.monotonic() + 20

    def renewed_past_first_lease() -> bool:
        doc = store.get(NS, str(press["update_id"])) or {}
        return time.time() > first_lease and float(doc.get("lease_until", 0)) > time.time()

    while not renewed_past_first_lease():
        assert time.monotonic() < deadline, "A never renewed its lease while it worked"
        threading.Event().wait(0.05)          # poll interval: the bucket sends no events
    assert b(press) == (503, "busy"), "A is alive and working: B must not take over"
    owner.join(60)
    assert first == [(200, "done")]
    assert b(press) == (200, "duplicate")
    assert_one_painting(fake, 141)


class SlowPuts(SqliteStore):
    """Cloud Storage on a slow day: every put takes `delay` seconds once switched on."""

    def __init__(self, path: str, delay: float) -> None:
        super().__init__(path)
        self.delay, self.slow = delay, False

    def put(self, ns, key, doc, ttl=None) -> None:
        if self.slow:
            time.sleep(self.delay)
        super().put(ns, key, doc, ttl)


def test_slow_store_does_not_stall_the_event_loop(make_app, fake, tmp_path) -> None:
    """While one update's last store writes crawl (2 s per put), /start from someone else
    is answered at once: no store call runs on the event loop."""
    store = SlowPuts(str(tmp_path / "slow.sqlite3"), delay=2)
    post = poster(make_app(store=store, update_timeout=1))
    press = ask_for_painting(post, fake, 151)
    store.slow = True
    worker = threading.Thread(target=post, args=(press,))
    worker.start()
    deadline = time.monotonic() + 30
    while not store.scan(RESULTS, "u151:") and time.monotonic() < deadline:
        time.sleep(0.05)                 # the painting's last put has just returned
    started = time.monotonic()
    assert post(fake.text_update(None, 152, "/start")) == (200, "done")
    welcome = next(c for c in answered(fake, "sendMessage") if c.params["chat_id"] == 152)
    latency = welcome.time - (started - time.monotonic() + time.time())
    log.info("/start latency under a slow store: %.2f s", latency)
    worker.join(30)
    store.slow = False
    assert latency < 1.0, f"/start waited {latency:.2f} s behind a blocking store call"
    assert_one_painting(fake, 151)


# --------------------------------------------------------------------------- /forget and what is kept

def user_docs(store, user_id: int) -> list[tuple[str, str]]:
    """(namespace, key) of every document kept about the user."""
    return [(ns, key) for ns in USER_NAMESPACES for key, _ in store.scan(ns, f"u{user_id}:")]


def test_forget_while_a_render_is_in_flight_leaves_nothing(make_app, fake, tmp_path) -> None:
    """/forget arrives while the painting is being made: the painting may still arrive,
    but nothing about the user may be stored afterwards, and inline mode offers nothing."""
    post = poster(make_app())
    press = ask_for_painting(post, fake, 161)
    downloads = len(fake.calls_to("getFile"))
    fake.delay_next("file", 3)
    render = threading.Thread(target=post, args=(press,))
    render.start()
    fake.wait_for("getFile", downloads + 1, timeout=20)
    assert post(fake.text_update(None, 161, "/forget")) == (200, "done")
    render.join(60)
    assert_one_painting(fake, 161)
    store = open_store(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    left = user_docs(store, 161)
    log.info("documents left after /forget during a render: %d", len(left))
    assert left == []
    assert post(fake.inline_query_update(161, "")) == (200, "done")
    assert answered(fake, "answerInlineQuery")[-1].params["results"] == []


def test_nothing_is_kept_longer_than_help_promises(make_app, fake, tmp_path) -> None:
    """/help promises {ttl_hours} h; one second later no document about the user is left
    (results included)."""
    now = [time.time()]
    store = SqliteStore(str(tmp_path / "clock.sqlite3"), clock=lambda: now[0])
    post = poster(make_app(store=store))
    assert post(ask_for_painting(post, fake, 162)) == (200, "done")
    assert post(fake.text_update(None, 162, "/help")) == (200, "done")
    promised = int(re.search(r"for (\d+) h", said_to(fake, 162)[-1]).group(1))
    assert user_docs(store, 162), "the painting left documents behind"
    now[0] += promised * 3600 + 1
    assert user_docs(store, 162) == []


class CountingStore(SqliteStore):
    """SQLite that counts the documents it hands out (each one is an object read on GCS)."""

    reads = 0

    def get(self, ns, key):
        doc = super().get(ns, key)
        self.reads += doc is not None
        return doc

    def scan(self, ns, prefix=""):
        rows = super().scan(ns, prefix)
        self.reads += len(rows)
        return rows


def test_inline_query_reads_a_bounded_number_of_documents(make_app, fake, tmp_path) -> None:
    """300 paintings made; typing @bot reads one small index, not 300 documents."""
    store = CountingStore(str(tmp_path / "count.sqlite3"))
    post = poster(make_app(store=store))
    state = State(store, input_ttl=24 * 3600, rate_per_minute=10)
    file_id = fake.add_file(_small_jpeg())

    async def make_many() -> None:
        for n in range(300):
            await state.save_result(171, f"{n:015x}",
                                    {"file_id": file_id, "caption": f"#{n}", "rid": "r"},
                                    since=state.clock())

    asyncio.run(make_many())
    store.reads = 0
    assert post(fake.inline_query_update(171, "")) == (200, "done")
    results = answered(fake, "answerInlineQuery")[-1].params["results"]
    log.info("store reads for one inline query with 300 stored results: %d", store.reads)
    assert len(results) == RESULTS_KEPT and results[0]["caption"] == "#299"
    assert store.reads <= 2, f"{store.reads} documents read for one inline query"
