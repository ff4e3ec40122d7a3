"""Store round trips of one painting (a photo, then a press) on the Cloud Storage store.

The bot runs in process (devkit BotHarness) against the fake Bot API, its store a real
GcsStore on fake-gcs-server behind a counting seam (devkit.stores.PassThroughStore): how
many calls a painting makes, of which kind, and how many are the privacy checks that
follow a user's writes (/forget's marker read, bot/state.py). Loopback times only: on
Cloud Storage each call is a network round trip.
"""
from __future__ import annotations

import collections
import os
import time
from typing import Any, Callable

from bench import inputs
from bench.context import Context
from bench.report import Row


def store_calls(ctx: Context) -> list[Row]:
    from bot.store import Doc, Store
    from bot.store.gcs import GcsStore
    from devkit import fake_gcs
    from devkit.bot_harness import BotHarness, button
    from devkit.fake_telegram import serve
    from devkit.stores import PassThroughStore

    class Counting(PassThroughStore):
        def __init__(self, inner: Store) -> None:
            super().__init__(inner)
            self.calls: collections.Counter[str] = collections.Counter()
            self.seconds: collections.Counter[str] = collections.Counter()

        def _timed(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args)
            finally:
                self.calls[what] += 1
                self.seconds[what] += time.perf_counter() - t0

        def get(self, ns: str, key: str) -> Doc | None:
            return self._timed(f"get {ns}", self.inner.get, ns, key)

        def put(self, ns: str, key: str, doc: Doc, ttl: float | None = None) -> None:
            self._timed(f"put {ns}", self.inner.put, ns, key, doc, ttl)

        def update(self, ns: str, key: str, fn: Callable[[Doc | None], Doc | None],
                   ttl: float | None = None) -> Doc | None:
            return self._timed(f"update {ns}", self.inner.update, ns, key, fn, ttl)

        def delete(self, ns: str, key: str) -> bool:
            return self._timed(f"delete {ns}", self.inner.delete, ns, key)

    users = ctx.reps(4)
    photo = inputs.content_jpeg(800)
    server = fake_gcs.serve(["bench-store"], ctx.scratch)
    saved = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = server.url
    try:
        store = Counting(GcsStore("bench-store", "bot"))
        for tg in serve():
            harness = BotHarness(tg, ctx.scratch, ctx.engine, store=store)
            try:
                for n, uid in enumerate(range(81_000, 81_001 + users)):
                    if n == 1:   # the first painting warms the client up: not counted
                        store.calls.clear()
                        store.seconds.clear()
                    harness.feed(tg.send_photo_from_user(None, uid, photo))
                    keyboard = harness.last("sendMessage").result
                    user = {"id": uid, "is_bot": False, "first_name": "Bench"}
                    harness.feed(harness.press(user, keyboard, button(keyboard, "1.")))
            finally:
                harness.close()
    finally:
        server.stop()
        if saved is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = saved
    total, seconds = sum(store.calls.values()) / users, sum(store.seconds.values()) / users
    checks = store.calls["get forgotten"] / users
    kinds = ", ".join(f"{k} {v / users:g}" for k, v in sorted(store.calls.items()))
    return [
        Row("store_calls", "GCS store calls per painting (photo + press)", total, "calls",
            note=f"{kinds}; loopback fake-gcs-server"),
        Row("store_calls", "GCS store time per painting (loopback)", seconds, "s"),
        Row("store_calls", "of which /forget checks after a write", checks, "calls",
            baseline="all store calls", baseline_value=total, ratio=checks / total,
            note=f"{store.seconds['get forgotten'] / users * 1000:.1f} ms on loopback; one "
                 "read each on Cloud Storage"),
    ]
