"""Store round trips of one painting (a photo, then a press) on the Cloud Storage store.

The bot runs in process (devkit BotHarness) against the fake Bot API, its store a real
GcsStore on fake-gcs-server behind a counting seam (devkit.stores.PassThroughStore): how
many calls a painting makes, of which kind, and how many are the privacy checks that
follow a user's writes (/forget's marker read, bot/state.py). Loopback times only: on
Cloud Storage each call is a network round trip.
"""
from __future__ import annotations

import os

from bench import inputs
from bench.context import Context
from bench.report import Row


def store_calls(ctx: Context) -> list[Row]:
    from bot.store.gcs import GcsStore
    from devkit import fake_gcs
    from devkit.bot_harness import BotHarness, button
    from devkit.fake_telegram import serve
    from devkit.stores import CountingStore

    users = ctx.reps(4)
    photo = inputs.content_jpeg(800)
    server = fake_gcs.serve(["bench-store"], ctx.scratch)
    saved = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = server.url
    try:
        store = CountingStore(GcsStore("bench-store", "bot"))
        for tg in serve():
            harness = BotHarness(tg, ctx.scratch, ctx.engine, store=store)
            try:
                for n, uid in enumerate(range(81_000, 81_001 + users)):
                    if n == 1:   # the first painting warms the client up: not counted
                        store.clear()
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
        Row("store_calls", "of which /forget checks (one per update)", checks, "calls",
            baseline="all store calls", baseline_value=total, ratio=checks / total,
            note=f"{store.seconds['get forgotten'] / users * 1000:.1f} ms on loopback; one "
                 "read each on Cloud Storage"),
    ]
