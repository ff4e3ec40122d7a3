"""`python -m bot` as a real subprocess against the fake Bot API."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot import i18n
from devkit.bot_harness import button
from tests.bot_harness import content_jpeg
from tests.conftest import MODEL_DIR, REPO
from devkit.fake_telegram import FakeTelegram

ALICE = {"id": 6001, "is_bot": False, "first_name": "Alice"}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_"))}
    env.update(NST_MODEL_DIR=str(MODEL_DIR), NST_CACHE_DIR=str(tmp_path / "cache"),
               BOT_STORE=f"sqlite:///{tmp_path / 'bot.sqlite3'}", BOT_WORKERS="1",
               NST_THREADS="1", PYTHONPATH=str(REPO))
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def test_without_token_explains_botfather_and_exits_2(tmp_path: Path) -> None:
    done = _run([], _env(tmp_path))
    assert done.returncode == 2
    assert "@BotFather" in done.stderr and "TELEGRAM_BOT_TOKEN" in done.stderr


def test_webhook_subcommands(tg: FakeTelegram, tmp_path: Path) -> None:
    env = _env(tmp_path, **tg.env(), WEBHOOK_SECRET="s3cret-token")
    done = _run(["set-webhook", "https://bot.example.com/webhook", "--drop-pending-updates"], env)
    assert done.returncode == 0, done.stderr
    call = tg.calls_to("setWebhook")[-1]
    assert call.params["secret_token"] == "s3cret-token"
    assert call.params["allowed_updates"] == ["message", "callback_query", "inline_query"]
    assert call.params["drop_pending_updates"] is True
    assert {c["command"] for c in tg.commands()} >= {"start", "styles", "forget"}
    group_ru = tg.commands({"type": "all_group_chats"}, "ru")
    assert group_ru[0]["command"] == "stylize"
    assert group_ru != tg.commands({"type": "all_group_chats"}), "translated"
    tg.calls.clear()
    menus = _run(["set-commands"], env)
    assert menus.returncode == 0 and "command menus published" in menus.stdout
    # three scopes (default, private, groups): once without a language (English) and once per catalog
    assert len(tg.calls_to("setMyCommands")) == 3 * (1 + len(i18n.available()))
    info = _run(["webhook-info"], env)
    assert "https://bot.example.com/webhook" in info.stdout
    assert _run(["delete-webhook"], env).returncode == 0
    assert tg.webhook is None
    assert tg.token not in done.stderr + info.stdout + info.stderr


@pytest.mark.slow
def test_polling_answers_start_and_paints(tg: FakeTelegram, tmp_path: Path) -> None:
    env = _env(tmp_path, **tg.env())
    proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        tg.push_update(tg.text_update(None, ALICE, "/start"))
        hello = tg.wait_for("sendMessage", 1, timeout=60)[0]
        assert hello.params["chat_id"] == ALICE["id"] and "photo" in hello.params["text"]
        tg.send_photo_from_user(None, ALICE, content_jpeg(side=200), push=True)
        keyboard = tg.wait_for("sendMessage", 2, timeout=30)[1].result
        tg.push_update(tg.callback_update(None, ALICE, keyboard, button(keyboard, "1.")))
        painted = tg.wait_for("sendPhoto", 1, timeout=90)[0]
        assert painted.ok and "Starry Night" in painted.params["caption"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            pytest.fail(f"python -m bot did not stop on SIGTERM:\n{output[-3000:]}")
    assert proc.returncode == 0, output[-3000:]
    assert tg.token not in output


def test_set_webhook_without_a_secret_is_refused(tg: FakeTelegram, tmp_path: Path) -> None:
    """Without WEBHOOK_SECRET the webhook refuses every call, so registering it would
    silently lose every update: say so and register nothing."""
    done = _run(["set-webhook", "https://bot.example.com/webhook"], _env(tmp_path, **tg.env()))
    assert done.returncode == 2
    assert "WEBHOOK_SECRET" in done.stderr
    assert tg.calls_to("setWebhook") == []
