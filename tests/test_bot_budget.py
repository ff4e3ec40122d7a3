"""What arrives is checked within a budget: a picture too big to open is refused in one
friendly sentence (as the photo or as the awaited style), and arrival checks run on a
small pool of their own, a few at a time."""
from __future__ import annotations

import asyncio
import threading

from bot import texts
from bot.arrivals import ArrivalPool
from devkit.bot_harness import BotHarness, button
from devkit.hostile import hostile_png
from tests.bot_harness import content_jpeg

ALICE = {"id": 7301, "is_bot": False, "first_name": "Alice"}


def test_a_huge_png_file_is_refused_clearly_as_photo_and_as_style(harness: BotHarness) -> None:
    h = harness
    huge = hostile_png("I;16", 7000)                 # 49 MP in ~110 KB
    h.feed(h.document(ALICE, huge, "huge.png"))
    assert h.texts()[-1] == texts.TOO_BIG_TO_OPEN
    h.feed(h.photo(ALICE, content_jpeg(side=160)))
    keyboard = h.last("sendMessage").result
    h.feed(h.press(ALICE, keyboard, button(keyboard, "🖼")))
    h.feed(h.document(ALICE, hostile_png("LA", 3000), "style.png"))   # 9 MP > a style's 8
    assert h.texts()[-1] == texts.STYLE_TOO_BIG
    assert not h.tg.calls_to("sendPhoto")


def test_arrival_checks_run_a_few_at_a_time_on_their_own_threads() -> None:
    pool, lock = ArrivalPool(workers=2), threading.Lock()
    both_busy, release = threading.Event(), threading.Event()
    running, peak, names = 0, 0, set()

    def check() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            names.add(threading.current_thread().name)
            if running == 2:
                both_busy.set()
        release.wait(10)
        with lock:
            running -= 1

    async def main() -> None:
        jobs = [asyncio.ensure_future(pool.run(check)) for _ in range(6)]
        busy = await asyncio.get_running_loop().run_in_executor(None, both_busy.wait, 10)
        assert busy, "two checks never ran at once"
        release.set()                 # the other four ran only as threads came free
        await asyncio.gather(*jobs)

    try:
        asyncio.run(main())
    finally:
        pool.shutdown()
    assert peak == 2
    assert all(name.startswith("arrival") for name in names), names
