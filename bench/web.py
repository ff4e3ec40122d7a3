"""Driving the real webhook: gunicorn from app.yaml, the fake Bot API, timed conversations.

Everything listens on 127.0.0.1 only; every wait has a deadline, so a broken server makes a
case fail instead of hanging the run.
"""
from __future__ import annotations

import json
import logging
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.launcher import app_yaml, spawn, stop_process
from bench.measure import child_env

log = logging.getLogger(__name__)

SECRET = "bench-secret-0123456789"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PRESET_BUTTON = "1."          # first painting on the keyboard (The Starry Night)
START_TIMEOUT = 60.0


def app_env(fake, scratch: Path, **extra: str) -> dict[str, str]:
    """app.yaml's env_variables, pointed at the fake Bot API, local presets and SQLite."""
    env = child_env()
    env.update(app_yaml().get("env_variables", {}))
    env.pop("STYLES", None)              # the built-in presets instead of a bucket
    env.pop("BOT_TASKS_QUEUE", None)     # the webhook does the work (no queue emulator here)
    env.update(fake.env())
    env.update({"WEBHOOK_SECRET": SECRET, "BOT_STORE": f"sqlite:///{scratch / 'bot.sqlite3'}",
                "NST_CACHE_DIR": str(scratch / "nst-cache"), "LOG_LEVEL": "WARNING", **extra})
    return env


def http(method: str, url: str, body: dict | None = None, timeout: float = 120.0) -> tuple[int, str]:
    """One HTTP request (with the webhook secret); (status, body). OSError if no connection."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", SECRET_HEADER: SECRET})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def until_connected(method: str, url: str, body: dict | None, deadline: float,
                    proc: subprocess.Popen | None = None) -> tuple[int, str]:
    """Retry a request until the server accepts the connection (it is starting up)."""
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} while starting")
        try:
            return http(method, url, body)
        except (ConnectionError, urllib.error.URLError) as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} not reachable: {exc}") from exc
            time.sleep(0.01)


@dataclass
class Gunicorn:
    """One gunicorn master from app.yaml (an "App Engine instance"), its log in scratch."""

    fake: object
    scratch: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    extra_args: tuple[str, ...] = ()     # gunicorn options after app.yaml's
    port: int = 0
    proc: subprocess.Popen | None = None
    spawned: float = 0.0     # time.monotonic() just before the spawn

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Gunicorn":
        """Spawn (returns at once; the server is ready when it answers)."""
        server = spawn(app_env(self.fake, self.scratch, **self.extra_env), self.scratch,
                       extra_args=self.extra_args)
        self.port, self.proc, self.spawned = server.port, server.proc, server.started
        return self

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, str]:
        """A request that waits for the server to come up first."""
        return until_connected(method, self.url + path, body, time.monotonic() + START_TIMEOUT, self.proc)

    def warm(self) -> None:
        """GET /_ah/warmup (what App Engine sends a new instance); raises unless 200."""
        status, body = self.request("GET", "/_ah/warmup")
        if status != 200:
            raise RuntimeError(f"warmup answered {status}: {body[:200]}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s (only the process we started)."""
        if self.proc is not None:
            stop_process(self.proc)

    def log_tail(self) -> str:
        path = self.scratch / f"gunicorn-{self.port}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def __enter__(self) -> "Gunicorn":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Users:
    """Fake Telegram users, each asking for one painting of a photo (the same one, or
    user i gets ``photos[i % len(photos)]``)."""

    def __init__(self, fake, photo: bytes | list[bytes], first_id: int = 5000) -> None:
        self.fake = fake
        self.photos = [photo] if isinstance(photo, bytes) else list(photo)
        self._ids = iter(range(first_id, first_id + 1_000_000))
        self._lock = threading.Lock()

    def new_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def photo_update(self, user_id: int) -> dict:
        """The user sends the photo (stored by the fake as Telegram would)."""
        return self.fake.send_photo_from_user(None, user_id, self.photos[user_id % len(self.photos)])

    def press_update(self, user_id: int, timeout: float = 10.0) -> dict:
        """The preset button press on the keyboard the bot offered this user."""
        deadline = time.monotonic() + timeout
        while True:
            offers = [c for c in self.fake.calls_to("sendMessage")
                      if c.params.get("chat_id") == user_id and c.params.get("reply_markup")
                      and c.result]
            if offers:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"user {user_id} got no preset keyboard")
            time.sleep(0.01)
        keyboard = offers[-1].result
        rows = (keyboard.get("reply_markup") or {}).get("inline_keyboard", [])
        data = next((b["callback_data"] for row in rows for b in row
                     if b.get("text", "").startswith(PRESET_BUTTON) and b.get("callback_data")), None)
        if data is None:
            raise RuntimeError("no preset button on the keyboard")
        return self.fake.callback_update(None, user_id, keyboard, data)

    def prepare(self, post, user_id: int | None = None) -> tuple[int, dict]:
        """Send the photo through ``post`` and return (user_id, the press update)."""
        uid = self.new_id() if user_id is None else user_id
        status, body = post(self.photo_update(uid))
        if status != 200:
            raise RuntimeError(f"photo update answered {status}: {body[:200]}")
        return uid, self.press_update(uid)

    def painting_time(self, user_id: int, timeout: float) -> float:
        """time.time() at which the fake received this user's painting (sendPhoto)."""
        deadline = time.monotonic() + timeout
        while True:
            sent = [c for c in self.fake.calls_to("sendPhoto")
                    if c.params.get("chat_id") == user_id and c.status is not None]
            if sent:
                if not sent[0].ok:
                    raise RuntimeError(f"sendPhoto to {user_id} failed: {sent[0].response}")
                return sent[0].time
            if time.monotonic() > deadline:
                raise TimeoutError(f"user {user_id}: no painting within {timeout:.0f} s")
            time.sleep(0.01)
