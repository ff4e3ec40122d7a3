"""Where one webhook → sendPhoto at 1280 px spends its time: the model vs everything else.

The real webhook app (``webhook_app.create_app``: Flask, the PTB bot, SQLite, the
default engine) runs in the bench process against the HTTP fake of the Bot API, so the
phases can be timed by wrapping functions in place: the transformer passes
(``Backend.transfer``), the rest of ``Engine.stylize``, the photo's decode
(``load_image``) and the JPEG encode (``encode_image``) as the render path calls them.
Everything else — webhook parsing, PTB, store writes, getFile + download, the upload
to sendPhoto — is the remainder.  The timed part is the user's button press: POST
→ the fake has received sendPhoto.
"""
from __future__ import annotations

import contextlib
import logging
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator

from bench import inputs
from bench.context import Context
from bench.report import Row, fmt

log = logging.getLogger(__name__)

SIDE = 1280
TARGET_OUTSIDE_SHARE = 0.40


class PhaseClock:
    """Seconds per phase, summed over the calls made while a press is being served."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.totals: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with self.lock:
                    self.totals[name] += time.perf_counter() - t0
        return timed

    def take(self) -> dict[str, float]:
        with self.lock:
            out, self.totals = dict(self.totals), defaultdict(float)
        return out


@contextlib.contextmanager
def _patched(clock: PhaseClock) -> Iterator[None]:
    """Wrap the timed functions where the render path looks them up; undo afterwards."""
    import bot.painting as painting
    from nst.backends import REGISTRY
    from nst.engine import Engine

    targets = [(painting, "load_image", "decode"), (painting, "encode_image", "encode"),
               (Engine, "stylize", "stylize")]
    for module, cls in REGISTRY.values():
        if module.endswith(("openvino", "lite")):
            import importlib
            targets.append((getattr(importlib.import_module(module), cls), "transfer", "model"))
    saved = [(obj, attr, obj.__dict__[attr] if isinstance(obj, type) else getattr(obj, attr))
             for obj, attr, _ in targets]
    try:
        for obj, attr, name in targets:
            setattr(obj, attr, clock.wrap(name, getattr(obj, attr)))
        yield
    finally:
        for obj, attr, original in saved:
            setattr(obj, attr, original)


def webhook_profile(ctx: Context, presses: int | None = None) -> list[Row]:
    """Breakdown of the press → sendPhoto path at 1280 px (medians over the presses)."""
    from bench.web import Users
    from bot.config import BotConfig
    from nst.config import EngineConfig
    from devkit.fake_telegram import FakeTelegram
    from devkit.webhook import HEADERS, SECRET
    from webhook_app import create_app

    n = presses or ctx.reps(12)
    clock = PhaseClock()
    samples: list[dict[str, float]] = []
    fake = FakeTelegram().start()
    try:
        config = BotConfig(token=fake.token, api_base=fake.api_base, webhook_secret=SECRET,
                           store_url=f"sqlite:///{ctx.scratch / 'profile.sqlite3'}",
                           engine=EngineConfig.from_env(), workers=1, update_timeout=60)
        app = create_app(config)
        client = app.test_client()
        client.get("/_ah/warmup")
        users = Users(fake, inputs.content_jpeg(SIDE), first_id=70_000)

        def post(update: dict) -> tuple[int, str]:
            resp = client.post("/webhook", json=update, headers=HEADERS)
            return resp.status_code, resp.get_data(as_text=True)

        with _patched(clock):
            for i in range(n + 1):           # the first press of the process is not counted
                uid, press = users.prepare(post)
                clock.take()
                t0 = time.time()
                status, body = post(press)
                sent = users.painting_time(uid, 120)
                phases = clock.take()
                if status != 200:
                    raise RuntimeError(f"press answered {status}: {body[:200]}")
                if i:
                    phases["total"] = sent - t0
                    samples.append(phases)
        app.extensions["bot_runtime"].close()
    finally:
        fake.stop()
    med = {k: statistics.median(s.get(k, 0.0) for s in samples) for k in
           ("total", "model", "stylize", "decode", "encode")}
    outside = [1 - s.get("model", 0.0) / s["total"] for s in samples]
    share = statistics.median(outside)
    engine_rest = med["stylize"] - med["model"]
    remainder = med["total"] - med["stylize"] - med["decode"] - med["encode"]
    note = (f"medians of {len(samples)} presses: model {fmt(med['model'], 's')}, rest of "
            f"Engine.stylize {fmt(engine_rest, 's')}, decode {fmt(med['decode'], 's')}, "
            f"JPEG encode {fmt(med['encode'], 's')}, everything else (webhook, PTB, store, "
            f"getFile + download, upload) {fmt(remainder, 's')}; in-process Flask app "
            "(no gunicorn), fake Bot API over HTTP")
    return [
        Row("e2e_profile", f"webhook → sendPhoto {SIDE} px: time outside the model", share * 100, "%",
            target=f"≤ {TARGET_OUTSIDE_SHARE * 100:g} % of the total",
            met=share <= TARGET_OUTSIDE_SHARE, note=note),
        Row("e2e_profile", f"webhook → sendPhoto {SIDE} px: total (in-process app)", med["total"], "s"),
        Row("e2e_profile", f"webhook → sendPhoto {SIDE} px: model (transformer passes)", med["model"], "s"),
    ]
