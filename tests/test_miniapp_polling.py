"""`python -m bot` (polling) serves the Mini App itself: a real subprocess against the fake
Bot API; the page, a preview and "send to chat" over its local server."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlparse


from devkit.fake_telegram import FakeTelegram
from devkit.miniapp import init_data, web_app_url
from tests.bot_harness import content_jpeg
from tests.conftest import MODEL_DIR, REPO

ALICE = 6101


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, body: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(url, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.read()


def test_polling_serves_the_mini_app(tg: FakeTelegram, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    env.update(tg.env(), NST_MODEL_DIR=str(MODEL_DIR), NST_CACHE_DIR=str(tmp_path / "cache"),
               BOT_STORE=f"sqlite:///{tmp_path / 'bot.sqlite3'}", BOT_WORKERS="1",
               PYTHONPATH=str(REPO), BOT_WEBAPP_PORT=str(port), BOT_PUBLIC_URL=base)
    proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        tg.send_photo_from_user(None, ALICE, content_jpeg(side=200), push=True)
        url = web_app_url(tg.wait_for("sendMessage", 1, timeout=60)[0])
        assert url.startswith(f"{base}/app/?t=")
        with urllib.request.urlopen(url, timeout=30) as page:
            assert b"telegram-web-app.js" in page.read()
        body = {"init_data": init_data(tg.token, ALICE), "token": parse_qs(urlparse(url).query)["t"][0]}
        status, launch = post(f"{base}/app/api/launch", body)
        preset = json.loads(launch)["presets"][0]["id"]
        assert post(f"{base}/app/api/preview", {**body, "preset": preset})[0] == 200
        assert post(f"{base}/app/api/send", {**body, "preset": preset, "nonce": "poll-1234"}
                    )[0] == 200
        painted = tg.wait_for("sendPhoto", 1, timeout=60)[0]
        assert painted.ok and painted.params["chat_id"] == ALICE
    finally:
        proc.terminate()
        try:
            output = proc.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, output[-3000:]
