"""webhook_app over HTTP: Flask's test client, the real bot (bot.app), the fake Bot API,
real SQLite / GCS-emulator stores and the real lite engine.

Fixtures and helpers live in tests/webhook_harness.py, shared with tests/test_gunicorn.py,
which drives the same flows through real gunicorn processes.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from bot import texts
from bot.ledger import NS, UpdateLedger
from bot.store import open_store
from nst.config import EngineConfig
from devkit.bot_harness import button
from tests.conftest import MODEL_DIR
from devkit.webhook import HEADERS, SECRET
from tests.webhook_harness import answered, ask_for_painting, assert_one_painting, images_to, poster
from webhook_app import HEALTH_CACHE, MAX_BODY, SECRET_HEADER, create_app
from bot.config import BotConfig
from devkit.clock import ManualClock
from devkit.stores import PassThroughStore

# --------------------------------------------------------------------------- who may call

@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"},
                                     {SECRET_HEADER: SECRET.upper()}])
def test_wrong_or_missing_secret_is_refused(make_app, fake, headers) -> None:
    client = make_app().test_client()
    resp = client.post("/webhook", json=fake.text_update(None, 11, "/start"), headers=headers)
    assert resp.status_code == 403
    assert fake.calls == [], "nothing may reach the bot or the Bot API"


def test_empty_configured_secret_refuses_all_and_logs_once(make_app, fake, caplog) -> None:
    client = make_app(webhook_secret="").test_client()
    with caplog.at_level(logging.ERROR, logger="webhook_app"):
        for headers in ({}, {SECRET_HEADER: ""}, {SECRET_HEADER: "anything"}):
            resp = client.post("/webhook", json=fake.text_update(None, 12, "/start"),
                               headers=headers)
            assert resp.status_code == 403
    errors = [r for r in caplog.records if "WEBHOOK_SECRET" in r.getMessage()]
    assert len(errors) == 1 and errors[0].levelno == logging.ERROR
    assert fake.calls == []


@pytest.mark.parametrize("body, status", [
    (b"not json", 400),
    (b"\xff\xfe", 400),
    (b"[1, 2]", 400),
    (b"null", 400),
    (b'{"message": {"text": "hi"}}', 400),
    (b'{"update_id": "7"}', 400),
    (b'{"update_id": true}', 400),
    (b'{"update_id": 1.5}', 400),
    (b'{"update_id": 1, "pad": "' + b"x" * MAX_BODY + b'"}', 413),
])
def test_bad_bodies_are_rejected(make_app, fake, body, status) -> None:
    client = make_app().test_client()
    resp = client.post("/webhook", data=body, headers=HEADERS, content_type="application/json")
    assert resp.status_code == status
    assert fake.calls == []


def test_only_the_documented_routes_exist(make_app, fake) -> None:
    client = make_app().test_client()
    assert client.get("/webhook").status_code == 405
    assert client.get("/").status_code == 404
    assert client.post("/_ah/warmup").status_code == 405
    assert fake.calls == []


# --------------------------------------------------------------------------- the conversation

def test_photo_preset_image_flow(make_app, fake, tmp_path) -> None:
    post = poster(make_app())
    press = ask_for_painting(post, fake, 21)
    assert post(press) == (200, "done")
    assert_one_painting(fake, 21)
    claim = open_store(f"sqlite:///{tmp_path / 'bot.sqlite3'}").get(NS, str(press["update_id"]))
    assert claim["state"] == "done"


def test_duplicate_update_is_processed_once(make_app, fake) -> None:
    post = poster(make_app())
    press = ask_for_painting(post, fake, 22)
    assert post(press) == (200, "done")
    calls = len(fake.calls)
    assert post(press) == (200, "duplicate")
    assert len(fake.calls) == calls, "a duplicate must not reach the Bot API"
    assert_one_painting(fake, 22)


def test_same_update_from_eight_threads_at_once(make_app, fake) -> None:
    post = poster(make_app())
    press = ask_for_painting(post, fake, 23)
    barrier = threading.Barrier(8)
    results: list[tuple[int, str]] = []

    def send() -> None:
        barrier.wait()
        results.append(post(press))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [(200, "done")] + [(200, "duplicate")] * 7
    assert_one_painting(fake, 23)


def test_two_workers_sharing_a_store_process_an_update_once(make_app, fake) -> None:
    """Two runtimes (like two gunicorn workers) on one SQLite file get the same update."""
    first, second = poster(make_app()), poster(make_app())
    press = ask_for_painting(first, fake, 24)
    results: list[tuple[int, str]] = []
    threads = [threading.Thread(target=lambda p=p: results.append(p(press)))
               for p in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [(200, "done"), (200, "duplicate")]
    assert_one_painting(fake, 24)


def test_send_photo_5xx_and_429_are_retried(make_app, fake) -> None:
    post = poster(make_app())
    press = ask_for_painting(post, fake, 25)
    fake.fail_next("sendPhoto", status=502)
    fake.fail_next("sendPhoto", status=429, retry_after=1)
    assert post(press) == (200, "done")
    attempts = [c.status for c in answered(fake, "sendPhoto")]
    assert attempts == [502, 429, 200]
    assert_one_painting(fake, 25)


def test_flow_on_the_gcs_store(make_app, fake, gcs_emulator) -> None:
    url = f"gs://{gcs_emulator.new_bucket('webhook')}/bot"
    post = poster(make_app(store_url=url))
    press = ask_for_painting(post, fake, 26)
    assert post(press) == (200, "done")
    assert post(press) == (200, "duplicate")
    assert_one_painting(fake, 26)
    assert open_store(url).get(NS, str(press["update_id"]))["state"] == "done"


def test_poison_update_is_answered_200_and_not_retried(make_app, fake, caplog) -> None:
    post = poster(make_app())
    poison = {"update_id": 777, "message": {"message_id": "not a message"}}
    with caplog.at_level(logging.ERROR, logger="bot.runtime"):
        assert post(poison) == (200, "error")
    assert any("processing failed" in r.getMessage() for r in caplog.records)
    assert post(poison) == (200, "duplicate")


def test_bot_that_cannot_start_gets_5xx_and_the_resend_works(make_app, fake) -> None:
    post = poster(make_app())
    update = fake.text_update(None, 27, "/start")
    fake.fail_next("getMe", status=401, description="Unauthorized")
    status, _ = post(update)
    assert status == 503, "not claimed, so Telegram must send it again"
    assert post(update) == (200, "done")
    assert [c.params["chat_id"] for c in answered(fake, "sendMessage")] == [27]


def test_slow_update_is_never_answered_2xx_before_its_work_is_done(make_app, fake) -> None:
    """Past BOT_UPDATE_TIMEOUT the answer is 503 "working", not 200: App Engine gives no CPU
    after a response, and Telegram resends only what failed. The resend joins the running
    work inside its own live request; the first 2xx comes after the painting was sent."""
    post = poster(make_app(update_timeout=1))
    press = ask_for_painting(post, fake, 28)
    fake.delay_next("file", 3)
    assert post(press) == (503, "working")
    answers = [post(press) for _ in range(6)]
    assert (200, "duplicate") in answers, answers
    first_ok = answers.index((200, "duplicate"))
    assert set(answers[:first_ok]) <= {(503, "working")}, answers
    assert set(answers[first_ok:]) == {(200, "duplicate")}, answers
    assert_one_painting(fake, 28)


# --------------------------------------------------------------------------- resends after a crash

def dead_pid() -> int:
    """The pid of a process that has certainly exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def orphan_claim(store_url: str, update_id: int, owner: str, **extra: Any) -> None:
    """The claim a worker leaves behind when it is killed mid-request."""
    open_store(store_url).put(NS, str(update_id), {
        "state": "processing", "owner": owner, "since": None, "claim": "old",
        "lease_until": time.time() + 600, **extra}, ttl=3600)


def test_resend_after_a_killed_worker_is_processed_once(make_app, fake, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    post = poster(make_app())
    press = ask_for_painting(post, fake, 31)
    orphan_claim(url, press["update_id"], f"{socket.gethostname()}:{dead_pid()}")
    assert post(press) == (200, "done")
    assert post(press) == (200, "duplicate")
    assert_one_painting(fake, 31)
    assert open_store(url).get(NS, str(press["update_id"]))["state"] == "done"


def test_resend_after_a_worker_killed_after_sending_sends_nothing(make_app, fake, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    post = poster(make_app())
    press = ask_for_painting(post, fake, 32)
    orphan_claim(url, press["update_id"], f"{socket.gethostname()}:{dead_pid()}", sent=True)
    assert post(press) == (200, "duplicate")
    assert images_to(fake, 32) == []


def test_claims_of_other_instances_are_taken_over_after_their_lease(make_app, fake,
                                                                    tmp_path) -> None:
    """Another instance's claim: it may be alive, so Telegram is asked to resend (503)
    until the lease runs out; then the update is taken over and painted once."""
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    post = poster(make_app())
    press = ask_for_painting(post, fake, 33)
    orphan_claim(url, press["update_id"], "other-instance:7", lease_until=time.time() + 600)
    assert post(press) == (503, "busy")
    assert post(press) == (503, "busy"), "a busy answer must not be remembered as seen"
    orphan_claim(url, press["update_id"], "other-instance:7", lease_until=time.time() - 1)
    assert post(press) == (200, "done")
    assert post(press) == (200, "duplicate")
    assert_one_painting(fake, 33)


def test_store_outage_falls_back_to_in_process_dedupe(gcs_emulator, caplog) -> None:
    from bot.store.gcs import GcsStore

    store = GcsStore(gcs_emulator.new_bucket("down"), "bot", timeout=1, retry_deadline=0.5)
    ledger = UpdateLedger(store, lease=60)
    with gcs_emulator.stopped(), caplog.at_level(logging.WARNING, logger="bot.ledger"):
        assert ledger.claim(991) == "new", "the update must still be processed"
        assert ledger.claim(991) == "duplicate"
        ledger.finish(991, "done")
    assert any("store unavailable" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)
    assert ledger.claim(992) == "new" and store.get(NS, "992")["state"] == "processing"


# --------------------------------------------------------------------------- warmup, cron, health

def test_warmup_cron_and_health(make_app, fake) -> None:
    client = make_app().test_client()
    assert client.get("/healthz").get_json() == {"ok": True, "status": "healthy"}
    assert fake.calls == [], "health needs neither Telegram nor the bot"
    warm = client.get("/_ah/warmup")
    assert (warm.status_code, warm.get_data(as_text=True)) == (200, "ready")
    assert client.get("/cron/keep-warm").status_code == 403
    assert client.get("/cron/keep-warm", headers={"X-Appengine-Cron": "false"}).status_code == 403
    tick = client.get("/cron/keep-warm", headers={"X-Appengine-Cron": "true"})
    assert tick.status_code == 200 and tick.get_json() == {"ok": True, "cleaned": 0}
    again = client.get("/cron/keep-warm", headers={"X-Appengine-Cron": "true"}).get_json()
    assert again == {"ok": True, "cleaned": None}, "cleanup runs at most every N minutes"


class CountingStore(PassThroughStore):
    """The real store, counting reads: /healthz's probe is one."""

    reads = 0

    def get(self, ns: str, key: str) -> Any:
        self.reads += 1
        return super().get(ns, key)


def test_health_is_cached_so_anyone_asking_costs_no_store_reads(fake, tmp_path) -> None:
    """Anyone may call /healthz: one store read per HEALTH_CACHE seconds, not per call."""
    store = CountingStore(open_store(f"sqlite:///{tmp_path / 'h.sqlite3'}"))
    clock = ManualClock()
    app = create_app(BotConfig(token=fake.token, api_base=fake.api_base, webhook_secret=SECRET,
                               engine=EngineConfig.from_env()), store=store, clock=clock)
    client = app.test_client()
    try:
        for _ in range(20):
            assert client.get("/healthz").status_code == 200
        assert store.reads == 1
        clock.advance(HEALTH_CACHE - 0.5)
        assert client.get("/healthz").status_code == 200 and store.reads == 1
        clock.advance(1)
        assert client.get("/healthz").status_code == 200 and store.reads == 2
    finally:
        app.extensions["bot_runtime"].close()
        store.close()


def test_corrupt_model_fails_health_but_users_get_an_apology(make_app, fake, tmp_path,
                                                             caplog) -> None:
    models = tmp_path / "models"
    shutil.copytree(MODEL_DIR, models)
    victim = models / "style_predict_quantized_256.tflite"
    os.chmod(victim, 0o644)
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF                    # same size, different bytes
    victim.write_bytes(bytes(data))
    app = make_app(engine=replace(EngineConfig.from_env(), model_dir=models))
    client = app.test_client()
    with caplog.at_level(logging.ERROR, logger="bot.runtime"):
        health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json() == {"ok": False, "status": "unhealthy"}, "no internals shown"
    assert any("style_predict_quantized_256" in r.getMessage() for r in caplog.records)
    assert client.get("/_ah/warmup").status_code == 503

    post = poster(app)
    press = ask_for_painting(post, fake, 41)
    assert post(press) == (200, "done")
    assert images_to(fake, 41) == []
    said = [c.params.get("text") for c in answered(fake, "sendMessage")
            if c.params.get("chat_id") == 41]
    assert said[-1] == texts.MODEL_FAILED


def test_warmup_runs_once_and_never_reshapes_the_shared_model(make_app, fake) -> None:
    """Anyone can GET /_ah/warmup: after the first, it costs nothing. Twenty of them between
    two paintings of the same size must not make the model reallocate its tensors."""
    app = make_app()
    client = app.test_client()
    post = poster(app)
    assert client.get("/_ah/warmup").status_code == 200
    press = ask_for_painting(post, fake, 43)
    assert post(press) == (200, "done")
    backend = app.extensions["bot_runtime"].get().engine.backend
    allocations = backend.allocations
    for _ in range(20):
        assert client.get("/_ah/warmup").get_data(as_text=True) == "ready"
    keyboard = fake.messages[(43, press["callback_query"]["message"]["message_id"])]
    assert post(fake.callback_update(None, 43, keyboard, button(keyboard, "2."))) == \
        (200, "done")
    assert len(images_to(fake, 43)) == 2
    assert backend.allocations == allocations, "warmup reshaped the model"
