"""Security properties of the public webhook, proved against the real app.

Who may make the bot act (secret in constant time, routes, cron header), what callback
data can reach, rate limits, what reaches the logs, what leaves in the images, /forget
on both stores, and the security floor of requirements.txt.
"""
from __future__ import annotations

import inspect
import io
import logging
import re
import sqlite3
import time
from pathlib import Path

import pytest
from PIL import Image
from packaging.requirements import Requirement
from packaging.version import Version

import webhook_app
from bot import texts
from bot.state import USER_NAMESPACES
from bot.store.sqlite import SqliteStore
from nst.gcs import make_client
from devkit.bot_harness import button
from devkit.clock import ManualClock
from tests.bot_harness import content_jpeg
from tests.conftest import REPO
from tests.corpus.make_corpus import exif_bytes, photo
from devkit.webhook import HEADERS, SECRET, SECRET_HEADER
from tests.webhook_harness import answered, ask_for_painting, images_to, poster

MARKER = "ZZsecretMARKER42"


# --------------------------------------------------------------------------- who may call

def test_secret_is_compared_in_constant_time() -> None:
    source = inspect.getsource(webhook_app.create_app)
    body = source[source.index("def secret_ok"):source.index("@app.post")]
    assert "hmac.compare_digest(" in body
    assert not re.search(r"(given|secret)\s*[!=]=", body), "no == on the secret"


@pytest.mark.parametrize("given", [
    "", "x", SECRET[:-1], SECRET + "x", SECRET.upper(), " " + SECRET, SECRET + "\t",
    "a" * 256, "a" * 8000, "ü" * 30, SECRET[::-1],
], ids=lambda g: f"len{len(g)}")
def test_wrong_secrets_of_any_length_are_refused(make_app, fake, given: str) -> None:
    client = make_app().test_client()
    update = fake.text_update(None, 201, "/start")
    headers = {SECRET_HEADER: given.encode("utf-8").decode("latin-1")}
    assert client.post("/webhook", json=update, headers=headers).status_code == 403
    assert client.post("/webhook", json=update, headers=HEADERS).status_code == 200, \
        "the right secret still works"
    assert fake.calls_to("sendMessage"), "and only then the bot speaks"


def test_no_route_but_the_webhook_calls_the_bot_api(make_app, fake) -> None:
    """Every route (any method, with or without the cron header) answers without one
    Bot API call; only an authenticated /webhook makes the bot act."""
    app = make_app()
    client = app.test_client()
    seen = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = rule.rule
            for headers in ({}, {"X-Appengine-Cron": "true"}, {SECRET_HEADER: "nope"}):
                status = client.open(url, method=method, headers=headers,
                                     json={"update_id": 1}).status_code
                seen.append((method, url, status))
    assert {url for _, url, _ in seen} >= {"/webhook", "/_ah/warmup", "/cron/keep-warm",
                                           "/healthz"}
    assert fake.calls == [], f"Bot API called: {[c.method for c in fake.calls]}"


@pytest.mark.parametrize("value", ["", "false", "True", "TRUE", "1", "yes", " true", "true "])
def test_cron_needs_exactly_the_app_engine_header(make_app, fake, value: str) -> None:
    client = make_app().test_client()
    assert client.get("/cron/keep-warm", headers={"X-Appengine-Cron": value}).status_code == 403
    assert client.get("/cron/keep-warm", headers={"X-Appengine-Cron": "true"}).status_code == 200


# --------------------------------------------------------------------------- what users send

def test_callback_data_is_opaque(make_app, fake) -> None:
    """Every button the bot issues carries its action (for routing), a random token and an
    index: no preset id, no setting, no user content; ≤ 64 bytes."""
    post = poster(make_app())
    press = ask_for_painting(post, fake, 202)
    assert post(press) == (200, "done")
    keyboards = [c.params["reply_markup"] for c in answered(fake, "sendMessage")
                 + answered(fake, "sendPhoto") if c.params.get("reply_markup")]
    datas = [b["callback_data"] for markup in keyboards for row in markup["inline_keyboard"]
             for b in row if "callback_data" in b]
    assert len(datas) >= 10
    for data in datas:
        assert re.fullmatch(r"[a-z]{1,10}:u202:[A-Za-z0-9_-]{12}\.\d{1,2}", data), data
        assert len(data.encode()) <= 64
        # Past the action prefix only "u202:", the random token and the index remain (the
        # fullmatch above); the token must not spell a setting either. Only words and numbers
        # of four or more characters are searched in it: 12 random url-safe characters hold
        # "hd" ~0.3 % of the time and three digits in a row ~4 % (it failed CI once on "525").
        token = data.split(":")[2].split(".")[0]
        assert not re.search(r"starry|night|strength|mix|1280|1024|2048|4096", token), data


def test_rate_limit_answers_with_a_friendly_sentence(make_app, fake, tmp_path) -> None:
    # A store clock that stays inside one minute: the three presses must not straddle a
    # minute boundary of the wall clock (they did once, and the third was let through).
    clock = ManualClock(start=60 * (time.time() // 60) + 1)
    store = SqliteStore(tmp_path / "rate.sqlite3", clock=clock)
    post = poster(make_app(store=store, rate_per_minute=2))
    press = ask_for_painting(post, fake, 203)
    keyboard = fake.messages[(203, press["callback_query"]["message"]["message_id"])]
    for label in ("1.", "2.", "3."):
        assert post(fake.callback_update(None, 203, keyboard, button(keyboard, label))) == \
            (200, "done")
    assert len(images_to(fake, 203)) == 2
    last = [c.params["text"] for c in answered(fake, "sendMessage")
            if c.params.get("chat_id") == 203][-1]
    assert last.startswith(texts.RATE_LIMITED_IN.split("{")[0]) and "Traceback" not in last


def test_logs_hold_ids_but_no_user_content_token_or_secret(make_app, fake, caplog) -> None:
    """A full flow with the marker in a caption, a file name, a text and an inline query:
    the marker never reaches INFO+ logs; token and secret never reach any log line."""
    post = poster(make_app())
    with caplog.at_level(logging.DEBUG):
        doc = fake.send_document_from_user(None, 204, content_jpeg(side=64),
                                           f"{MARKER}.jpg", caption=f"caption {MARKER}")
        assert post(doc) == (200, "done")
        keyboard = [c for c in answered(fake, "sendMessage") if c.params.get("reply_markup")
                    and c.params["chat_id"] == 204][-1].result
        assert post(fake.callback_update(None, 204, keyboard, button(keyboard, "1."))) == \
            (200, "done")
        assert post(fake.text_update(None, 204, f"hello {MARKER}")) == (200, "done")
        assert post(fake.inline_query_update(204, MARKER)) == (200, "done")
        broken = fake.add_file(MARKER.encode() * 10, kind="document")
        assert post(fake.document_update(None, 204, broken, "image/png",
                                         f"{MARKER}.png")) == (200, "done")
        assert post(fake.text_update(None, 204, "/forget")) == (200, "done")
    assert images_to(fake, 204)
    every = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    info_up = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records
                        if r.levelno >= logging.INFO)
    assert "204" in info_up, "ids are logged"
    for secret in (fake.token, "123%3AABC", SECRET):
        assert secret not in every, f"{secret!r} leaked into the logs"
    assert MARKER not in info_up


def test_outputs_never_carry_input_exif_or_gps(make_app, fake) -> None:
    """An image document with EXIF GPS (kept by Telegram for files): neither the preview
    nor the HD file carries any of it."""
    buf = io.BytesIO()
    photo(160, 120).save(buf, "JPEG", exif=exif_bytes(6, gps=True))
    post = poster(make_app())
    doc = fake.send_document_from_user(None, 205, buf.getvalue(), "gps.jpg")
    assert post(doc) == (200, "done")
    keyboard = [c for c in answered(fake, "sendMessage") if c.params.get("reply_markup")][-1]
    press = fake.callback_update(None, 205, keyboard.result, button(keyboard.result, "1."))
    assert post(press) == (200, "done")
    result = images_to(fake, 205)[0]
    assert post(fake.callback_update(None, 205, result.result,
                                      button(result.result, "⬇"))) == (200, "done")
    hd = [c for c in answered(fake, "sendDocument") if c.ok][-1]
    for data in (result.files["photo"], hd.files["document"]):
        with Image.open(io.BytesIO(data)) as im:
            assert not im.getexif(), "no EXIF at all"
            assert "exif" not in im.info and im.size[0] < im.size[1], "upright, then stripped"
        assert b"Exif\x00\x00" not in data and b"TestCam" not in data


# --------------------------------------------------------------------------- /forget

def _everything(store_url: str, gcs_emulator) -> str:
    """Every byte the store holds, as text (to search for traces of a user)."""
    if store_url.startswith("sqlite:///"):
        with sqlite3.connect(store_url[len("sqlite:///"):]) as conn:
            return "\n".join(" ".join(map(str, row)) for row in conn.execute("SELECT * FROM docs"))
    bucket = store_url[len("gs://"):].split("/", 1)[0]
    client = make_client()
    return "\n".join(b.name + " " + b.download_as_bytes().decode()
                     for b in client.list_blobs(bucket))


@pytest.mark.parametrize("backend", ["sqlite", "gcs"])
def test_forget_erases_the_user_in_both_stores(make_app, fake, tmp_path: Path, gcs_emulator,
                                               backend: str) -> None:
    url = (f"sqlite:///{tmp_path / 'bot.sqlite3'}" if backend == "sqlite"
           else f"gs://{gcs_emulator.new_bucket('forget')}/bot")
    post = poster(make_app(store_url=url))
    for user in (206, 207):
        assert post(ask_for_painting(post, fake, user)) == (200, "done")
    alice_file = [m for (chat, _), m in fake.messages.items() if chat == 206 and "photo" in m
                  and m.get("from", {}).get("id") == 206][0]["photo"][-1]["file_id"]
    before = _everything(url, gcs_emulator)
    assert "u206:" in before and alice_file in before
    assert post(fake.text_update(None, 206, "/forget")) == (200, "done")
    after = _everything(url, gcs_emulator)
    assert "u206:" not in after and alice_file not in after, "nothing of the user is left"
    assert "u207:" in after, "other users are untouched"
    from bot.store import open_store

    store = open_store(url)
    assert all(store.scan(ns, "u206:") == [] for ns in USER_NAMESPACES)


# --------------------------------------------------------------------------- dependencies

# First releases with the fix for the advisories listed (all bounds are lower bounds).
SECURITY_FLOOR = {
    "pillow": ("12.3.0", "CVE-2026-25990 PSD and 2026 paste/crop/ImageCms out-of-bounds writes"),
    "flask": ("3.1.1", "CVE-2025-47278 key rotation fallback"),
    "werkzeug": ("3.1.6", "CVE-2026-21860 / GHSA-29vq-49wr-vm6x safe_join device names"),
    "gunicorn": ("23.0.0", "CVE-2024-1135 / CVE-2024-6827 request smuggling"),
    "urllib3": ("2.6.3", "CVE-2025-66418 / CVE-2025-66471 / CVE-2026-21441 decompression"),
    "requests": ("2.32.4", "CVE-2024-47081 .netrc credential leak"),
}


def _lower_bounds() -> dict[str, Version]:
    bounds = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        lows = [Version(s.version) for s in req.specifier if s.operator in (">=", "==", "~=")]
        if lows:
            bounds[req.name.lower()] = max(lows)
    return bounds


def _too_low(floor: dict[str, tuple[str, str]]) -> list[str]:
    bounds = _lower_bounds()
    return [f"requirements.txt: {name}>={bounds.get(name)} should be >={minimum} ({why})"
            for name, (minimum, why) in floor.items()
            if bounds.get(name) is None or bounds[name] < Version(minimum)]


def test_requirements_exclude_releases_with_known_security_holes() -> None:
    assert _too_low(SECURITY_FLOOR) == []


def test_installed_versions_meet_every_floor() -> None:
    from importlib.metadata import version

    for name, (minimum, why) in SECURITY_FLOOR.items():
        assert Version(version(name)) >= Version(minimum), f"{name}: {why}"
