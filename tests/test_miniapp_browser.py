"""The Mini App in a real browser: headless Chromium (Debian's `chromium`) driven by
Playwright, opening the page the way Telegram does (launch parameters in the URL fragment,
telegram.org's script answered by devkit's stand-in), against create_app() over HTTP and the
fake Bot API. Skipped, with the reason, where Chromium or Playwright is missing."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from bot import texts
from bot.i18n import Translator
from devkit.miniapp import DARK, MiniAppServer, launch_url, route_telegram_script
from tests.bot_harness import jpeg
from tests.conftest import EXIF_DIR

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
OWNER, OTHER = 8001, 8002
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -r requirements-dev.txt)")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def open_page(browser: Any, srv: MiniAppServer, url: str, data: str,
              theme: dict[str, str] | None = None) -> Any:
    """A phone-sized page on `url` with launch data `data`; outside requests are refused
    (only telegram.org's script, answered by the stand-in)."""
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(srv.base)
               else route.abort())
    route_telegram_script(page)
    page.goto(launch_url(url, data, theme))
    return page


def photo() -> bytes:
    return jpeg(EXIF_DIR / "Landscape_1.jpg", 640)


def previews(page: Any, count: int) -> None:
    """Wait (on the DOM, not a clock) until `count` previews have been shown. The page's
    CSP forbids eval, so waits are attribute expectations, not JS predicates."""
    from playwright.sync_api import expect

    expect(page.locator("#stage")).to_have_attribute("data-previews", str(count),
                                                     timeout=WAIT_MS)


def shown_image(page: Any) -> str:
    """A digest of the painted preview on screen (the after image's pixels)."""
    data = page.evaluate("""() => {
        const img = document.getElementById('after');
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        c.getContext('2d').drawImage(img, 0, 0);
        return c.toDataURL('image/png');
    }""")
    return hashlib.sha256(data.encode()).hexdigest()


def test_titles_a_preview_per_tap_slider_and_one_send(browser: Any, miniapp: MiniAppServer
                                                      ) -> None:
    from playwright.sync_api import expect

    url = miniapp.open_for(OWNER, photo())
    page = open_page(browser, miniapp, url, miniapp.signed(OWNER))
    cards = page.locator(".card[data-preset]")
    cards.first.wait_for(timeout=WAIT_MS)
    engine = miniapp.app.extensions["bot_runtime"].get().engine
    titles = [p.title.split(" (")[0] for p in engine.catalog.presets()]
    assert cards.locator("span").all_inner_texts() == titles
    expect(page.locator("#before")).to_have_attribute("src", re.compile("^blob:"))
    seen = []
    for n in (1, 2, 3):
        cards.nth(n - 1).click()
        previews(page, n)
        seen.append(shown_image(page))
    assert len(set(seen)) == 3                       # each tap: a new painting of the photo
    page.locator("#strength").fill("40")             # the slider: input + change
    expect(page.locator("#stage")).to_have_attribute("data-strength", "40", timeout=WAIT_MS)
    assert shown_image(page) not in seen
    page.click("#tg-main-button")
    page.click("#tg-main-button")                    # a second tap while it sends: ignored
    expect(page.locator("html")).to_have_attribute("data-tg-closed", "1", timeout=WAIT_MS)
    paintings = miniapp.paintings_to(OWNER)
    assert len(paintings) == 1
    third = engine.catalog.presets()[2]
    assert third.title in paintings[0].params["caption"]
    assert "40%" in paintings[0].params["caption"]
    page.close()


@pytest.mark.parametrize("who", ["other_user", "forged", "stale"])
def test_foreign_forged_or_stale_launch_data_is_refused(browser: Any, miniapp: MiniAppServer,
                                                        who: str) -> None:
    url = miniapp.open_for(OWNER, photo())
    if who == "other_user":
        data = miniapp.signed(OTHER)
    elif who == "forged":
        data = miniapp.signed(OTHER).replace(f"%22id%22%3A{OTHER}", f"%22id%22%3A{OWNER}")
    else:
        data = miniapp.signed(OWNER, auth_date=time.time() - 2 * 3600)
    page = open_page(browser, miniapp, url, data)
    error = page.locator("#error")
    error.wait_for(state="visible", timeout=WAIT_MS)
    expected = texts.WEBAPP_EXPIRED if who == "other_user" else texts.WEBAPP_REFUSED
    assert error.inner_text() == Translator()(expected)
    assert page.locator(".card").count() == 0
    assert page.evaluate("document.getElementById('before').naturalWidth") == 0
    assert not page.evaluate("window.Telegram.WebApp.MainButton.click()")
    assert miniapp.paintings_to(OWNER) == [] and miniapp.paintings_to(OTHER) == []
    page.close()


@pytest.mark.parametrize("language", ["ru", "fa"])
def test_page_in_russian_and_persian(browser: Any, miniapp: MiniAppServer,
                                     language: str) -> None:
    url = miniapp.open_for(OWNER, photo())
    page = open_page(browser, miniapp, url, miniapp.signed(OWNER, language), DARK)
    page.locator(".card").first.wait_for(timeout=WAIT_MS)
    t = Translator(language)
    assert page.evaluate("document.documentElement.lang") == language
    assert page.evaluate("document.documentElement.dir") == ("rtl" if language == "fa" else "ltr")
    assert page.locator("h1").inner_text() == t(texts.WEBAPP_TITLE)
    engine = miniapp.app.extensions["bot_runtime"].get().engine
    first = engine.catalog.presets()[0].title
    assert page.locator(".card span").first.inner_text() == t.title(first).split(" (")[0]
    assert t.title(first) != first   # the painting's own name in this language
    assert page.locator("#own-card").inner_text().strip().endswith(
        t(texts.WEBAPP_OWN_STYLE).strip())
    if language == "fa":  # right to left: the carousel starts at the right edge
        first = page.locator(".card").first.bounding_box()
        assert first["x"] + first["width"] > 390 / 2
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(23, 33, 43)"
    page.locator(".card").first.click()
    previews(page, 1)
    assert page.evaluate("window.Telegram.WebApp.MainButton.text") == t(texts.WEBAPP_SEND)
    page.close()
