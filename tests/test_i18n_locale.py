"""Numbers, plurals and paintings the way each language writes them: Persian digits,
"75 %" in German and "%75" in Turkish, Russian and Ukrainian plural forms after 21, 22,
25, painting titles and artists in the user's language; and bot.pot kept current."""
from __future__ import annotations

import json
import re
import subprocess
import sys

from typing import Any

import pytest

from bot import paintings, texts
from bot.captions import caption
from bot.i18n import FSI, PDI, RLM, POT, Translator, pot_is_current, pot_text
from bot.keyboards import preset_rows, result_rows
from bot.records import FileRef, Render, Subject
from nst.catalog import Preset
from tests.conftest import REPO

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"


def _plain(text: str) -> str:
    return "".join(c for c in text if c not in {RLM, FSI, PDI})


# --------------------------------------------------------------------------- digits

def test_persian_gets_persian_digits_everywhere_a_number_goes() -> None:
    fa = Translator("fa")
    assert _plain(fa(texts.CAPTION_SETTINGS, pct=75)).endswith("۷۵٪")
    assert "۲۵٪ تا ۱۰۰٪" in fa(texts.HELP, username="@b", ttl_hours=24, min_pct=25, max_pct=100)
    assert "۲۴" in fa(texts.HELP, username="@b", ttl_hours=24, min_pct=25, max_pct=100)
    assert "۳" in fa(texts.IN_LINE, count=3) and "3" not in fa(texts.IN_LINE, count=3)
    assert "۱۲/۷۵" in fa(texts.CLIP_PROGRESS, done=12, count=75)
    assert "۲٫۵" in fa(texts.CLIP_CUT, count=2.5)
    shown = _plain(fa(texts.CAPTION_HD, width=4032, height=3024))
    assert "۴۰۳۲×۳۰۲۴" in shown and not re.search(r"[0-9]", shown)


def test_persian_caption_has_persian_title_artist_and_year() -> None:
    subject = Subject(FileRef("f", "u", "photo"), reply_to=1, ask=1)
    render = Render.new(1, 1, subject, preset="starry_night")
    preset = Preset("starry_night", "The Starry Night", "Vincent van Gogh", "1889", "x.jpg")
    text = re.sub(r"</?b>", "", _plain(caption(render, [preset], Translator("fa"))))
    assert "شب پرستاره" in text and "ون گوگ" in text and "۱۸۸۹" in text and "۱۰۰٪" in text
    assert not re.search(r"[A-Za-z0-9]", text), text


@pytest.mark.parametrize("locale, shown", [("en", "75%"), ("de", "75\u00a0%"), ("tr", "%75"),
                                           ("fr", "75\u00a0%"), ("ru", "75\u00a0%")])
def test_percent_sign_goes_where_the_language_puts_it(locale: str, shown: str) -> None:
    t = Translator(locale)
    assert t.percent(75) == shown
    assert t(texts.CAPTION_SETTINGS, pct=75).endswith(shown)
    labels = [b.text for row in result_rows(t, 75, False, "q") for b in row]
    assert f"• {shown} •" in labels


def test_decimal_comma_and_no_grouping() -> None:
    assert Translator("de").number(2.5) == "2,5"
    assert Translator("en").number(2.5) == "2.5"
    assert Translator("de").number(1889) == "1889", "a year is never written 1.889"


# --------------------------------------------------------------------------- plurals

@pytest.mark.parametrize("locale, count, word", [
    ("ru", 1, "кадр"), ("ru", 21, "кадр"), ("ru", 22, "кадра"), ("ru", 25, "кадров"),
    ("ru", 11, "кадров"), ("ru", 111, "кадров"), ("ru", 104, "кадра"),
    ("uk", 21, "кадр"), ("uk", 22, "кадри"), ("uk", 25, "кадрів"), ("uk", 12, "кадрів"),
])
def test_frames_take_the_plural_form_of_their_number(locale: str, count: int, word: str) -> None:
    text = Translator(locale)(texts.CLIP_PROGRESS, done=1, count=count)
    assert text.endswith(f"1/{count} {word}"), text


@pytest.mark.parametrize("locale, count, word", [
    ("ru", 21, "картина"), ("ru", 22, "картины"), ("ru", 25, "картин"),
    ("uk", 21, "картина"), ("uk", 23, "картини"), ("uk", 25, "картин"),
])
def test_paintings_take_the_plural_form_of_their_number(locale: str, count: int,
                                                        word: str) -> None:
    assert f" {count} {word}." in Translator(locale)(texts.STYLES_CAPTION, count=count)


@pytest.mark.parametrize("locale, count, phrase", [
    ("ru", 1, "первая 1 секунда"), ("ru", 3, "первые 3 секунды"), ("ru", 10, "первые 10 секунд"),
    ("uk", 21, "першу 21 секунду"), ("uk", 10, "перші 10 секунд"), ("en", 1, "first 1 second "),
])
def test_seconds_cut_take_the_plural_form(locale: str, count: int, phrase: str) -> None:
    assert phrase in Translator(locale)(texts.CLIP_CUT, count=count) + " "


# --------------------------------------------------------------------------- paintings

def test_every_painting_of_the_catalog_reaches_the_translators() -> None:
    manifest = json.loads((REPO / "nst" / "data" / "styles" / "manifest.json").read_text())
    assert {p["title"] for p in manifest} <= set(paintings.TITLES)
    assert {p["artist"] for p in manifest} <= set(paintings.ARTISTS)


@pytest.mark.parametrize("locale, title, artist", [
    ("ru", "Звёздная ночь", "Винсент Ван Гог"), ("uk", "Зоряна ніч", "Вінсент ван Гог"),
    ("es", "La noche estrellada", "Vincent van Gogh"), ("de", "Die Sternennacht", "Vincent van Gogh"),
    ("fr", "La Nuit étoilée", "Vincent van Gogh"), ("ar", "ليلة النجوم", "فنسنت فان غوخ"),
])
def test_titles_and_artists_in_the_users_language(locale: str, title: str, artist: str,
                                                  engine: object) -> None:
    t = Translator(locale)
    assert t.title("The Starry Night") == title and t.artist("Vincent van Gogh") == artist
    labels = [b.text for row in preset_rows(t, engine.catalog.presets(), 0) for b in row]
    assert f"1. {title}" in labels
    assert t.title("A painting nobody translated") == "A painting nobody translated"


# --------------------------------------------------------------------------- bot.pot

def test_pot_is_current() -> None:
    """bot/locales/bot.pot is what `python -m bot.i18n update` writes from texts.py now."""
    assert POT.is_file() and pot_is_current(), "run: python -m bot.i18n update"
    assert b'msgctxt "painting"' in pot_text() and b"{min_pct}" in pot_text()


def test_check_command_passes() -> None:
    done = subprocess.run([sys.executable, "-m", "bot.i18n", "check"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("locale", ["ru", "fa", "ar", "hi"])
def test_styles_caption_lists_the_titles_in_the_users_language(harness: Any, engine: Any,
                                                               locale: str) -> None:
    """The collage's font draws Latin titles only: below it, the caption numbers the
    paintings in the user's language, within Telegram's 1024-character caption limit."""
    user = {"id": 4300, "is_bot": False, "first_name": "Ana", "language_code": locale}
    harness.feed(harness.tg.text_update(None, user, "/styles"))
    text = harness.last("sendPhoto").params["caption"]
    t = Translator(locale)
    first = engine.catalog.presets()[0]
    assert _plain(t(texts.STYLES_LEGEND_LINE, number=1, title=t.title(first.title))) in _plain(text)
    assert len(text.encode("utf-16-le")) // 2 <= 1024


def test_english_styles_caption_has_no_list(harness: Any) -> None:
    user = {"id": 4301, "is_bot": False, "first_name": "Kai", "language_code": "en"}
    harness.feed(harness.tg.text_update(None, user, "/styles"))
    assert "\n" not in harness.last("sendPhoto").params["caption"]


def test_legend_stops_at_the_caption_limit() -> None:
    from bot.gallery import legend

    text = legend("Head", [f"{n}. " + "Ж" * 100 for n in range(1, 30)])
    assert len(text) <= 1024 and text.endswith("…") and "1. ЖЖ" in text


def test_arabic_reads_right_to_left_like_persian() -> None:
    """Arabic gets Persian's handling: a right-to-left mark opening each line, names and
    titles isolated, "@name" kept whole; CLDR's Arabic digits for `ar` are Latin ones."""
    from bidi import get_display

    t = Translator("ar")
    assert t.rtl
    text = t(texts.SHARED_BY, bot="@FreeStyleTransferBot")
    assert text.startswith(RLM) and f"{FSI}@FreeStyleTransferBot{PDI}" in text
    assert "@FreeStyleTransferBot" in _plain(get_display(text))
    welcome = t(texts.WELCOME)
    assert all(line.startswith(RLM) for line in welcome.split("\n") if line)
    assert "18" in t(texts.STYLES_CAPTION, count=18) and "لوحةً" in t(texts.STYLES_CAPTION, count=18)
    assert "لوحات" in t(texts.STYLES_CAPTION, count=5)


# Placeholders that hold a number (the Translator writes them the locale's way) and those
# that hold a name or a word. A new placeholder must be added to one of them.
NUMERIC = {"count", "pct", "min_pct", "max_pct", "seconds", "min_side", "ttl_hours", "width",
           "height", "year", "done", "page", "pages", "first", "second", "number"}
WORDS = {"title", "mix_title", "artist", "bot", "username", "brush", "mode"}


def _filled(t: Translator, msg: Any) -> list[str]:
    import string

    ids = msg.id if isinstance(msg.id, (tuple, list)) else (msg.id,)
    names = {n for i in ids for _, n, _, _ in string.Formatter().parse(i) if n}
    assert names <= NUMERIC | WORDS, names - NUMERIC - WORDS
    values = {n: (1889 if n in NUMERIC else "@name") for n in names}
    if isinstance(msg.id, (tuple, list)):
        return [t(tuple(msg.id), **{**values, "count": c}) for c in (1, 2, 5, 21, 1889)]
    return [t(msg.id, **values)]


def test_persian_never_shows_a_latin_digit() -> None:
    """Every message, every number placeholder filled: only Persian digits on screen."""
    from bot.i18n import template

    fa = Translator("fa")
    for msg in template():
        if msg.id and not msg.context:
            for text in _filled(fa, msg):
                assert not re.search(r"[0-9]", text), text
