"""Bounded loopback load test of the real deployment entrypoint.

    python -m tests.load --users 32 --requests 3        # full size (a few minutes)
    python -m tests.load --users 6 --requests 2         # what CI runs (tests/test_load.py)

gunicorn starts exactly as app.yaml says (tests.http_harness.start_gunicorn) on 127.0.0.1,
with a SQLite store in a temp dir and the fake Bot API (devkit/fake_telegram/), which
answers a share of sendPhoto / editMessage* / sendMessage calls with 429 retry_after=1,
and carries out another share at once but answers it late (``--slow``, ``--slow-seconds``:
past PTB's 5 s read timeout for messages, so those sends count as probably delivered
and must not be repeated).
Each simulated user sends M photos, one after the other: photo → keyboard → presses
the first painting → painting. The driver resends a share of all updates with the same
update_id (half of them at the same moment as the original, half after its answer),
as Telegram does after a timeout.

Checked afterwards: every press got exactly one painting, in the right chat, as a reply
to the right photo; every photo exactly one keyboard; every duplicate was dropped; no
worker died; RSS of master + workers stayed under the budget. Everything stops by itself
(``--time-limit``), listens on loopback only and touches no network.
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.corpus.make_corpus import photo
from devkit.fake_telegram import FakeTelegram
from tests.http_harness import Instance, ready, start_gunicorn

log = logging.getLogger("tests.load")

FAULTY_METHODS = frozenset({"sendPhoto", "editMessageText", "editMessageMedia",
                            "editMessageCaption", "sendMessage"})
SLOW_METHODS = frozenset({"sendPhoto", "sendMessage"})
# App Engine standard instance classes → memory (MB), per the App Engine docs.
INSTANCE_MEMORY_MB = {"F1": 384, "F2": 768, "F4": 1536, "F4_1G": 3072}


def _instance_budget() -> float:
    """Bytes of memory of the instance class app.yaml deploys on: the budget to stay under."""
    import yaml

    app_yaml = Path(__file__).resolve().parents[1] / "app.yaml"
    instance_class = yaml.safe_load(app_yaml.read_text()).get("instance_class", "F1")
    return INSTANCE_MEMORY_MB[instance_class] * 1024 ** 2


RSS_BUDGET = _instance_budget()


@dataclass
class LoadResult:
    """Figures of one run; ``ok`` when nothing was lost, doubled or misdelivered."""

    users: int
    requests: int                     # paintings asked for (button presses)
    updates: int = 0                  # distinct updates sent
    duplicates_sent: int = 0
    duplicates_dropped: int = 0       # answered "duplicate"
    retries: int = 0                  # injected 429s the bot had to retry
    slow_answers: int = 0             # sends carried out but answered late
    p50: float = 0.0                  # seconds per painting request (press → answer)
    p95: float = 0.0
    peak_rss_mb: float = 0.0
    seconds: float = 0.0
    lost: int = 0                     # presses without a painting / photos without keyboard
    doubled: int = 0                  # more than one answer to one request
    misdelivered: int = 0             # wrong chat or wrong reply target
    bad_status: list[str] = field(default_factory=list)
    worker_died: bool = False
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return (self.lost == self.doubled == self.misdelivered == 0 and not self.bad_status
                and not self.worker_died and not self.timed_out
                and self.peak_rss_mb * 1024 ** 2 < RSS_BUDGET
                and self.duplicates_dropped == self.duplicates_sent)

    def summary(self) -> str:
        return (f"{self.users} users × {self.requests // max(1, self.users)} requests = "
                f"{self.requests} paintings ({self.updates} updates) in {self.seconds:.1f} s; "
                f"duplicates sent {self.duplicates_sent}, dropped {self.duplicates_dropped}; "
                f"429 retries {self.retries}; slow answers {self.slow_answers}; painting request p50 {self.p50:.2f} s, "
                f"p95 {self.p95:.2f} s; peak RSS {self.peak_rss_mb:.0f} MB; lost {self.lost}, "
                f"doubled {self.doubled}, misdelivered {self.misdelivered}; worker died: "
                f"{self.worker_died}; {'OK' if self.ok else 'FAILED'}")


def _jpeg(side: int, seed: int) -> bytes:
    out = io.BytesIO()
    photo(side, max(32, side * 2 // 3), seed=seed).save(out, "JPEG", quality=85)
    return out.getvalue()


class _Driver:
    """Runs the simulated users against one instance and records what came back."""

    def __init__(self, fake: FakeTelegram, node: Instance, dup_rate: float, side: int,
                 seed: int, deadline: float) -> None:
        self.fake, self.node = fake, node
        self.dup_rate, self.side = dup_rate, side
        self.rng = random.Random(seed)
        self.deadline = deadline
        self.lock = threading.Lock()
        self.statuses: list[tuple[int, str]] = []
        self.latencies: list[float] = []
        self.photos: list[tuple[int, int]] = []       # (chat, photo message_id)
        self.presses: list[tuple[int, int]] = []      # (chat, photo message_id it paints)
        self.updates = self.duplicates = 0

    def _post(self, update: dict[str, Any]) -> float:
        """Send one update, maybe twice; returns the seconds the original took."""
        with self.lock:
            self.updates += 1
            roll = self.rng.random()
        twin: threading.Thread | None = None
        if roll < self.dup_rate / 2:                 # resent while the first is running
            twin = threading.Thread(target=self._record, args=(update,), daemon=True)
            twin.start()
        t0 = time.monotonic()
        self._record(update)
        took = time.monotonic() - t0
        if twin is not None:
            twin.join(max(1.0, self.deadline - time.monotonic()))
        elif roll < self.dup_rate:                   # resent after the answer
            self._record(update)
        if roll < self.dup_rate:
            with self.lock:
                self.duplicates += 1
        return took

    def _record(self, update: dict[str, Any]) -> None:
        status = self.node.post(update)
        with self.lock:
            self.statuses.append(status)

    def user(self, uid: int, count: int) -> None:
        for n in range(count):
            if time.monotonic() > self.deadline:
                return
            update = self.fake.send_photo_from_user(None, uid, _jpeg(self.side, uid * 10 + n))
            mid = update["message"]["message_id"]
            with self.lock:
                self.photos.append((uid, mid))
            self._post(update)
            keyboard = self._keyboard_for(uid, mid)
            if keyboard is None:
                return                               # counted as lost in the check
            data = next(b["callback_data"] for row in keyboard["reply_markup"]["inline_keyboard"]
                        for b in row if b["text"].startswith("1."))
            took = self._post(self.fake.callback_update(None, uid, keyboard, data))
            with self.lock:
                self.presses.append((uid, mid))
                self.latencies.append(took)

    def _keyboard_for(self, chat: int, reply_to: int) -> dict | None:
        for call in self.fake.calls_to("sendMessage"):
            if (call.ok and call.params.get("chat_id") == chat and call.params.get("reply_markup")
                    and _reply_to(call.params) == reply_to):
                return call.result
        return None


def _reply_to(params: dict[str, Any]) -> int | None:
    return (params.get("reply_parameters") or {}).get("message_id")


def _check(fake: FakeTelegram, driver: _Driver, result: LoadResult) -> None:
    """Exactly one keyboard per photo and one painting per press, to the right place."""
    keyboards: dict[tuple[int, int], int] = {}
    paintings: dict[tuple[int, int], int] = {}
    chats = {chat for chat, _ in driver.photos}
    for call in fake.calls:
        if not call.ok or call.method not in ("sendMessage", "sendPhoto"):
            continue
        key = (call.params.get("chat_id"), _reply_to(call.params))
        if call.method == "sendPhoto":
            paintings[key] = paintings.get(key, 0) + 1
        elif call.params.get("reply_markup"):
            keyboards[key] = keyboards.get(key, 0) + 1
        if key[0] not in chats:
            result.misdelivered += 1
    for wanted, got in ((driver.photos, keyboards), (driver.presses, paintings)):
        for key in wanted:
            n = got.pop(key, 0)
            result.lost += n == 0
            result.doubled += max(0, n - 1)
    result.misdelivered += sum(keyboards.values()) + sum(paintings.values())  # unasked


def run_load(users: int, requests: int, *, dup_rate: float = 0.10, fault_rate: float = 0.05,
             slow_rate: float = 0.05, slow_seconds: float = 6.0, side: int = 96,
             time_limit: float = 600.0, seed: int = 1,
             work_dir: Path | None = None) -> LoadResult:
    """One bounded run; see the module docstring."""
    result = LoadResult(users, users * requests)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nst-load-") as tmp, FakeTelegram() as fake:
        work = Path(work_dir or tmp)
        node = start_gunicorn(fake.env(), f"sqlite:///{work / 'bot.sqlite3'}", work)
        try:
            ready(node)
            worker = node.worker().pid
            fake.fail_randomly(FAULTY_METHODS, fault_rate, seed=seed)
            fake.hold_randomly(SLOW_METHODS, slow_rate, slow_seconds, seed=seed + 1)
            deadline = time.monotonic() + time_limit
            driver = _Driver(fake, node, dup_rate, side, seed, deadline)
            peak = [node.rss()]
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(0.2):
                    try:
                        peak[0] = max(peak[0], node.rss())
                    except Exception:            # the master went away: reported below
                        return

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            threads = [threading.Thread(target=driver.user, args=(10_000 + u, requests),
                                        daemon=True) for u in range(users)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(max(0.1, deadline - time.monotonic()))
            result.timed_out = any(t.is_alive() for t in threads)
            stop.set()
            sampler.join(2)
            fake.fail_randomly(FAULTY_METHODS, 0)
            fake.hold_randomly(SLOW_METHODS, 0, 0)
            result.worker_died = node.proc.poll() is not None or node.worker().pid != worker
            result.peak_rss_mb = peak[0] / 1024 ** 2
        finally:
            node.stop()
        with driver.lock:
            statuses = list(driver.statuses)
            result.updates, result.duplicates_sent = driver.updates, driver.duplicates
            latencies = sorted(driver.latencies)
        result.duplicates_dropped = sum(1 for s in statuses if s == (200, "duplicate"))
        result.bad_status = sorted({f"{code} {body}" for code, body in statuses
                                    if (code, body) not in ((200, "done"), (200, "duplicate"))})
        result.retries, result.slow_answers = fake.injected, fake.held
        if latencies:
            result.p50 = statistics.median(latencies)
            result.p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
        _check(fake, driver, result)
    result.seconds = time.monotonic() - started
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--requests", type=int, default=3, help="paintings per user")
    parser.add_argument("--duplicates", type=float, default=0.10, help="share of updates resent")
    parser.add_argument("--faults", type=float, default=0.05, help="share of sends answered 429")
    parser.add_argument("--slow", type=float, default=0.05,
                        help="share of sends carried out but answered late")
    parser.add_argument("--slow-seconds", type=float, default=6.0,
                        help="how late (past the 5 s read timeout of messages)")
    parser.add_argument("--side", type=int, default=96, help="long side of the test photos")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds, hard stop")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = run_load(args.users, args.requests, dup_rate=args.duplicates,
                      fault_rate=args.faults, slow_rate=args.slow,
                      slow_seconds=args.slow_seconds, side=args.side, time_limit=args.time_limit,
                      seed=args.seed)
    print(json.dumps({**asdict(result), "ok": result.ok}) if args.json else result.summary())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
