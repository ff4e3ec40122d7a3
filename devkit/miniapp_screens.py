"""python -m devkit.miniapp_screens [OUT_DIR] — the README's Mini App screenshots.

The whole app (devkit.miniapp.serve_app) and Debian's chromium via Playwright, opened as
Telegram opens it, light and dark theme, a painting tapped, the before/after wipe in the
middle. Writes miniapp-light.jpg and miniapp-dark.jpg (default: docs/).
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from devkit.miniapp import DARK, LIGHT, launch_url, route_telegram_script, serve_app

REPO = Path(__file__).resolve().parents[1]
PHOTO = REPO / "tests" / "data" / "exif" / "Landscape_0.jpg"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


def main(argv: list[str]) -> int:
    from playwright.sync_api import expect, sync_playwright

    out = Path(argv[0]) if argv else REPO / "docs"
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for srv in serve_app(Path(folder)):
            url = srv.open_for(1, PHOTO.read_bytes())
            for name, theme, card in (("light", LIGHT, 0), ("dark", DARK, 3)):
                page = browser.new_page(viewport={"width": 390, "height": 844})
                route_telegram_script(page)
                page.goto(launch_url(url, srv.signed(1), theme))
                page.locator(".card").nth(card).click()
                expect(page.locator("#stage")).to_have_attribute("data-previews", "1",
                                                                 timeout=30_000)
                page.screenshot(path=str(out / f"miniapp-{name}.jpg"), type="jpeg",
                                quality=72, full_page=True)
                page.close()
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
