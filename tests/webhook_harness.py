"""The webhook side of the tests: fixtures (`fake`: the fake Bot API, `make_app`: create_app()
on it) and helpers that send a photo and press a preset over any `post` function, shared by
the Flask test-client tests, the gunicorn tests and the load driver."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from flask import Flask

from bot.config import BotConfig
from nst.config import EngineConfig
from devkit.bot_harness import button
from tests.bot_harness import content_jpeg, decode
from devkit.fake_telegram import Call, FakeTelegram, serve
from devkit.webhook import HEADERS, SECRET
from webhook_app import create_app

Post = Callable[[dict], tuple[int, str]]   # one update in, (HTTP status, body) out


def answered(fake: FakeTelegram, method: str) -> list[Call]:
    """Calls to `method` once the fake has finished recording their answers."""
    count = len(fake.calls_to(method))
    return fake.wait_for(method, count, timeout=10) if count else []


def images_to(fake: FakeTelegram, chat_id: int) -> list[Call]:
    """Paintings the user received (successful sendPhoto calls to the chat)."""
    return [c for c in answered(fake, "sendPhoto") if c.ok and c.params.get("chat_id") == chat_id]


def ask_for_painting(post: Post, fake: FakeTelegram, user_id: int,
                     image: bytes | None = None) -> dict:
    """Send a photo (default: 160 px) as `user_id`; returns the update of pressing preset
    "1." on the keyboard the bot answers with."""
    photo = fake.send_photo_from_user(None, user_id, image or content_jpeg(side=160))
    assert post(photo) == (200, "done")
    offers = [c for c in answered(fake, "sendMessage")
              if c.ok and c.params.get("chat_id") == user_id and c.params.get("reply_markup")]
    assert offers, f"no preset keyboard; calls: {[c.method for c in fake.calls]}"
    keyboard = offers[-1].result
    return fake.callback_update(None, user_id, keyboard, button(keyboard, "1."))


def assert_one_painting(fake: FakeTelegram, user_id: int, source_side: int = 160) -> None:
    sent = images_to(fake, user_id)
    assert len(sent) == 1, f"{len(sent)} images delivered"
    image = decode(sent[0].files["photo"])
    assert image.format == "JPEG" and max(image.size) == source_side


# --------------------------------------------------------------------------- fixtures

@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    yield from serve()


@pytest.fixture
def make_app(tmp_path: Path, fake: FakeTelegram) -> Iterator[Callable[..., Flask]]:
    """create_app() on a config for the fake and a SQLite store in tmp_path; every app
    made shares that store, like the workers of one deployment."""
    apps: list[Flask] = []
    base = BotConfig(token=fake.token, api_base=fake.api_base, webhook_secret=SECRET,
                     store_url=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
                     engine=EngineConfig.from_env(), workers=2, update_timeout=60)

    def make(store: Any = None, **changes: Any) -> Flask:
        app = create_app(replace(base, **changes), store=store)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["bot_runtime"].close()


def poster(app: Flask) -> Post:
    client = app.test_client()

    def post(update: dict) -> tuple[int, str]:
        resp = client.post("/webhook", json=update, headers=HEADERS)
        return resp.status_code, resp.get_data(as_text=True)

    return post
