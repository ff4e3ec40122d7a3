"""Logs as App Engine's Cloud Logging reads them: one JSON object per line with severity,
message and the update id; the bot token never printed, not even inside a traceback; no
secret in a config's repr. The webhook runs in a child process so its logging is set up
exactly as in production (root handler installed by create_app, not by pytest)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from bot.config import BotConfig
from devkit.fake_telegram import FakeTelegram, serve
from devkit.webhook import SECRET

REPO = Path(__file__).resolve().parents[1]
TOKEN = "4242:SECRET-token_value"

CHILD = f"""
import logging, sys
from devkit.webhook import HEADERS
from webhook_app import app
client = app.test_client()
update = {{"update_id": 9001, "message": {{"message_id": 1, "date": 0, "text": "/start",
          "entities": [{{"type": "bot_command", "offset": 0, "length": 6}}],
          "chat": {{"id": 55, "type": "private"}}, "from": {{"id": 55, "is_bot": False,
          "first_name": "Ann"}}}}}}
for _ in range(2):
    print(client.post("/webhook", json=update, headers=HEADERS).status_code, file=sys.stdout)
try:
    raise RuntimeError("GET {{}}/file/bot{TOKEN}/photos/1.jpg failed".format("https://x"))
except RuntimeError:
    logging.getLogger("bot.handlers.photos").exception("download failed")
app.extensions["bot_runtime"].close()
"""


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    yield from serve(TOKEN)


def run_webhook_child(fake: FakeTelegram, tmp_path: Path, **env: str) -> list[str]:
    child_env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE": fake.api_base,
                 "WEBHOOK_SECRET": SECRET, "BOT_STORE": f"sqlite:///{tmp_path / 'b.sqlite3'}",
                 "PYTHONPATH": str(REPO), **env}
    proc = subprocess.run([sys.executable, "-c", CHILD], cwd=REPO, env=child_env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["200", "200"], proc.stdout
    return [line for line in proc.stderr.splitlines() if line.strip()]


def test_app_engine_logs_are_json_lines_with_severity_and_update_id(fake, tmp_path) -> None:
    lines = run_webhook_child(fake, tmp_path, GAE_ENV="standard")
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
    assert all({"severity", "message"} <= set(e) for e in entries), entries
    done = [e for e in entries if e["message"].startswith("update 9001: done")]
    assert done and done[0]["severity"] == "INFO" and done[0]["update_id"] == 9001
    duplicate = [e for e in entries if e.get("logger") == "bot.ledger"
                 and "duplicate" in e["message"]]
    assert duplicate and duplicate[0]["update_id"] == 9001, "lines inside an update carry it"
    failed = [e for e in entries if e["message"].startswith("download failed")]
    assert failed and failed[0]["severity"] == "ERROR"
    assert "Traceback" in failed[0]["message"], "the traceback stays in the same entry"


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_token_never_printed_even_in_a_traceback(fake, tmp_path, log_format) -> None:
    lines = run_webhook_child(fake, tmp_path, LOG_FORMAT=log_format)
    text = "\n".join(lines)
    assert "RuntimeError" in text, "the traceback was logged"
    assert TOKEN not in text and "4242%3ASECRET" not in text
    assert "<token>" in text


def test_config_repr_shows_no_secret() -> None:
    config = BotConfig(token=TOKEN, webhook_secret=SECRET)
    assert TOKEN not in repr(config) and SECRET not in repr(config)
    assert TOKEN not in str(config) and SECRET not in str(config)


def test_bad_settings_are_refused_once_at_create_app(tmp_path) -> None:
    from webhook_app import create_app

    with pytest.raises(ValueError) as err:
        create_app(BotConfig(token="not a token", webhook_secret="has spaces",
                             store_url="redis://x", update_timeout=0))
    for name in ("TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET", "BOT_STORE", "BOT_UPDATE_TIMEOUT"):
        assert name in str(err.value)
    assert TOKEN not in str(err.value)
