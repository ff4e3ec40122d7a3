"""python -m bench.press_trace [-v]: follow one button press from POST /webhook to sendPhoto.

A photo is sent and a painting picked once to warm up; then the press on a second photo's
keyboard is traced (sys.setprofile on every thread): each call of a project function
(nst/, bot/, webhook_app.py) becomes a node under its nearest project caller — a
coroutine resumed by the event loop is the same node, not a new call. Walking that call
tree in order gives the modules the press passes; a *step* is a change of module (into a
callee or back to the caller), a *return* a step into a module visited before. "Leaf
calls skipped" leaves out calls that call nothing of ours (a lookup such as a translation
or a property), which is closest to reading the path by hand. Figures:
bench/RESULTS-structure.md. Needs nothing beyond the repo (fake Bot API, SQLite).
"""
from __future__ import annotations

import collections
import logging
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from bench.inputs import content_jpeg
from bot.config import BotConfig
from devkit.bot_harness import button
from devkit.fake_telegram import FakeTelegram, serve
from devkit.webhook import HEADERS, SECRET
from nst.config import EngineConfig
from webhook_app import create_app

REPO = Path(__file__).resolve().parent.parent
PROJECT = (str(REPO / "bot") + "/", str(REPO / "nst") + "/", str(REPO / "webhook_app.py"))


class CallTree:
    """Project calls as a tree, in the order they began; where sendPhoto was called."""

    def __init__(self) -> None:
        self.nodes: list[tuple[str, int]] = []     # (module, parent index or -1)
        self._frames: list[FrameType] = []         # kept alive: ids stay unique
        self._index: dict[int, int] = {}
        self.sends: list[int] = []                 # len(nodes) at each sendPhoto
        self._lock = threading.Lock()

    def profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return
        code = frame.f_code
        with self._lock:
            if code.co_name == "send_photo":
                self.sends.append(len(self.nodes))
            elif code.co_filename.startswith(PROJECT) and not self._known(frame):
                parent, up = -1, frame.f_back
                while up is not None and parent < 0:
                    parent = self._index[id(up)] if self._known(up) else -1
                    up = up.f_back
                self._index[id(frame)] = len(self.nodes)
                self._frames.append(frame)
                self.nodes.append((_module(code.co_filename), parent))

    def _known(self, frame: FrameType) -> bool:
        i = self._index.get(id(frame))
        return i is not None and self._frames[i] is frame


def _module(path: str) -> str:
    parts = list(Path(path).relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def path_of(tree: CallTree, start: int, end: int, keep: Callable[[str], bool],
            leaves: bool) -> list[str]:
    """The modules in the order the calls in [start, end) pass them."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    roots = []
    for i in range(start, end):
        parent = tree.nodes[i][1]
        (children[parent] if parent >= start else roots).append(i)
    seq: list[str] = []

    def visit(i: int, here: str | None) -> None:
        if not leaves and not children[i]:
            return
        module = tree.nodes[i][0]
        cur = module if keep(module) else here
        if cur and (not seq or seq[-1] != cur):
            seq.append(cur)
        for child in children[i]:
            visit(child, cur)
            if cur and seq[-1] != cur:
                seq.append(cur)

    for root in roots:
        visit(root, None)
    return seq


def figures(seq: list[str]) -> tuple[int, int, int]:
    """(steps, modules, returns to a module visited before)."""
    seen: set[str] = set()
    returns = 0
    for module in seq:
        returns += module in seen
        seen.add(module)
    return len(seq), len(seen), returns


def _press(post: Callable[[dict], int], fake: FakeTelegram, user: int) -> dict:
    """Send a photo; the update of pressing the first painting on the keyboard."""
    assert post(fake.send_photo_from_user(None, user, content_jpeg(240))) == 200
    fake.wait_for("sendMessage", 1)
    keyboard = [c for c in fake.calls_to("sendMessage")
                if c.ok and c.params.get("chat_id") == user and c.params.get("reply_markup")][-1]
    return fake.callback_update(None, user, keyboard.result, button(keyboard.result, "1."))


def main(argv: list[str] | None = None) -> int:
    verbose = "-v" in (argv if argv is not None else sys.argv[1:])
    logging.disable(logging.CRITICAL)
    sys.setrecursionlimit(10_000)
    fakes = serve()
    fake = next(fakes)
    tmp = tempfile.mkdtemp()
    app = create_app(BotConfig(token=fake.token, api_base=fake.api_base, webhook_secret=SECRET,
                               store_url=f"sqlite:///{tmp}/bot.sqlite3",
                               engine=EngineConfig.from_env(), workers=2, update_timeout=60))
    client = app.test_client()

    def post(update: dict) -> int:
        return client.post("/webhook", json=update, headers=HEADERS).status_code

    tree = CallTree()
    sys.setprofile(tree.profile)
    threading.setprofile(tree.profile)
    try:
        assert post(_press(post, fake, 4242)) == 200   # warm: models, threads, catalog
        press = _press(post, fake, 4243)
        start = len(tree.nodes)
        assert post(press) == 200
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
        app.extensions["bot_runtime"].close()
    end = min(i for i in tree.sends if i >= start)
    print("| path | steps | modules | returns | most visited |\n|---|---|---|---|---|")
    for label, keep, leaves in [
            ("bot + webhook, leaf calls skipped", _bot, False),
            ("all project modules, leaf calls skipped", _any, False),
            ("bot + webhook, every call", _bot, True),
            ("all project modules, every call", _any, True)]:
        seq = path_of(tree, start, end, keep, leaves)
        steps, modules, returns = figures(seq)
        top = ", ".join(f"{m} {n}" for m, n in collections.Counter(seq).most_common(3))
        print(f"| {label} | {steps} | {modules} | {returns} | {top} |")
        if verbose:
            print("    " + " > ".join(seq))
    return 0


def _bot(module: str) -> bool:
    return not module.startswith("nst")


def _any(module: str) -> bool:
    return True


if __name__ == "__main__":
    sys.exit(main())
