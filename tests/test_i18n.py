"""The bot speaks the user's language: catalogs complete and consistent, the language picked
from the update, right-to-left Persian readable, command menus per scope and language, and a
whole conversation per language with no English left in what the bot sends."""
from __future__ import annotations

import asyncio
import re
import string
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from telegram import Bot

from bot import keyboards, texts
from bot.i18n import (FSI, PDI, RLM, Translator, available, catalog, po_path, resolve, template)
from bot.menu import GROUP_COMMANDS, PRIVATE_COMMANDS, publish_commands
from nst.protect import PROTECT_MODES
from devkit import clip_factory as cf
from devkit.bot_harness import BotHarness, button, buttons
from tests.bot_harness import content_jpeg
from tests.conftest import MAGENTA_DIR
from devkit.fake_telegram import FakeTelegram

LOCALES = ("ru", "uk", "es", "pt_BR", "de", "fa", "id", "tr", "ar", "hi", "uz", "vi", "fr", "it")
# Letters a translation may keep from the English msgid.
UNTRANSLATED_OK = {"HD"}
TAG_RE = re.compile(r"</?[a-z]+>")
WORD_RE = re.compile(r"[^\W\d_]{3,}")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _catalog(locale: str) -> Catalog:
    with open(po_path(locale), "rb") as fh:
        return read_po(fh, locale=locale)


def _forms(message: Any) -> list[str]:
    return list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]


def _ids(message: Any) -> list[str]:
    return list(message.id) if isinstance(message.id, (tuple, list)) else [message.id]


def catalog_problems(po: Catalog, pot: Catalog) -> list[str]:
    """Missing, fuzzy, empty or inconsistent translations of `po` (against `pot`)."""
    problems = []
    for msg in pot:
        if not msg.id:
            continue
        key = _ids(msg)[0][:40]
        have = po.get(msg.id, context=msg.context)
        if have is None or have.fuzzy or not all(_forms(have)):
            problems.append(f"{key}: missing")
            continue
        expected = set().union(*(placeholders(i) for i in _ids(msg)))
        tags = sorted(TAG_RE.findall(_ids(msg)[0]))
        for form in _forms(have):
            if placeholders(form) != expected:
                problems.append(f"{key}: placeholders {placeholders(form)} != {expected}")
            if sorted(TAG_RE.findall(form)) != tags:
                problems.append(f"{key}: HTML tags differ")
    known = {_ids(m)[0] for m in pot if m.id}
    problems += [f"{_ids(m)[0][:40]}: obsolete" for m in po if m.id and _ids(m)[0] not in known]
    return problems


# --------------------------------------------------------------------------- catalogs

def test_the_languages_asked_for_are_there() -> None:
    assert set(LOCALES) <= set(available())


@pytest.mark.parametrize("locale", LOCALES)
def test_every_msgid_translated_with_the_same_placeholders(locale: str) -> None:
    assert catalog_problems(_catalog(locale), template()) == []


def test_the_check_catches_a_missing_placeholder() -> None:
    """The check itself: a translation that drops {title} is reported, not shipped."""
    pot = template()
    po = _catalog("de")
    po.get(texts.CHOOSE_MIX).string = "➕ Wähle ein zweites Gemälde zum Mischen:"
    assert [p for p in catalog_problems(po, pot) if "placeholders" in p]


def test_template_matches_texts_py() -> None:
    """Every marked constant of texts.py is extracted (the catalogs cover what users see)."""
    marked = {v if isinstance(v, str) else v[0] for k, v in vars(texts).items()
              if k.isupper() and (isinstance(v, tuple) or isinstance(v, str)
                                  and ("{" in v or any(c.isalpha() for c in v)))}
    extracted = {_ids(m)[0] for m in template() if m.id and not m.context}
    assert marked == extracted


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_are_not_english(locale: str) -> None:
    same = []
    for msg in _catalog(locale):
        if not msg.id or msg.context:  # titles and names may be the same everywhere
            continue
        for source, form in zip(_ids(msg), _forms(msg)):
            letters = WORD_RE.findall(re.sub(r"\{\w+\}", "", source))
            if form == source and not set(letters) <= UNTRANSLATED_OK:
                same.append(source)
    assert same == []


def _labels() -> list[Any]:
    return [texts.BTN_RANDOM, texts.BTN_OWN_STYLE, texts.BTN_ANOTHER, texts.BTN_MIX,
            texts.BTN_HD, texts.BTN_SHARE, texts.BTN_KEEP_COLORS_ON, texts.BTN_KEEP_COLORS_OFF,
            texts.BTN_GLANCE, texts.BTN_GLANCE_RANDOM, texts.WEBAPP_OPEN]


def _every_keyboard(t: Translator, presets: list[Any]) -> list[keyboards.Rows]:
    """Every keyboard the bot can show: the paintings' pages (with and without 🖼 and 👀),
    the 👀 grid's numbers, and a result's buttons in every combination of colours, brush,
    🙂 faces, mix and HD."""
    out = [keyboards.preset_rows(t, presets, page, own_style=own, glance=glance)
           for page in range(keyboards.pages(len(presets))) for own in (True, False)
           for glance in (True, False)]
    ids = [p.id for p in presets[:9]]
    out += [keyboards.glance_rows(t, ids, page, len(presets)) for page in (0, 1, -1)]
    for colors in (True, False):
        for brush in (None, "bold", "medium", "fine"):
            for protect in (None, *PROTECT_MODES):
                for mix in (None, 25, 50, 75):
                    out.append(keyboards.result_rows(t, 75, colors, "q", mix, brush,
                                                     hd=mix is None, protect=protect))
    return out


@pytest.mark.parametrize("locale", ["en", *LOCALES])
def test_button_labels_fit_a_phone_row_and_alerts_fit_a_popup(locale: str, engine: Any) -> None:
    """No button label over 20 characters (a painting's title may take a row of its own),
    no row of buttons over 36 characters in all, in every keyboard the bot shows."""
    t = Translator(locale)
    assert [t(label) for label in _labels() if keyboards.width(t(label)) > 20] == []
    for brush in texts.BRUSH_NAMES.values():
        assert keyboards.width(t(texts.BTN_BRUSH, brush=t(brush))) <= 20
    rows = [row for kb in _every_keyboard(t, engine.catalog.presets()) for row in kb]
    too_wide = [[b.text for b in row] for row in rows
                if sum(keyboards.width(b.text) for b in row) > 36]
    assert too_wide == []
    assert all(keyboards.width(b.text) <= 20 for row in rows for b in row
               if not b.action or b.action[0] != keyboards.PICK)
    assert len(t(texts.HD_NEEDS_FILE)) <= 200                # callback alert limit
    for _, description in PRIVATE_COMMANDS + GROUP_COMMANDS:
        assert 3 <= len(t(description)) <= 60


def test_the_row_check_catches_a_wide_row(engine: Any) -> None:
    """The check above itself: Ukrainian's old 🎨 + 🖌 row (20 + 19 characters) fails it."""
    row = [keyboards.Button("🎨 Мої кольори: увімк"), keyboards.Button("🖌 Пензель: середній")]
    assert sum(keyboards.width(b.text) for b in row) > keyboards.ROW_CHARS


@pytest.mark.parametrize("locale", ["en", *LOCALES])
def test_texts_name_the_buttons_as_they_are_labelled(locale: str) -> None:
    """/start and /help name each button exactly as it reads ("🎨 Keep colours" for the
    "🎨 Keep colours: on" toggle)."""
    t = Translator(locale)
    help_text = t(texts.HELP, username="@b", ttl_hours=24, min_pct=25, max_pct=100)
    welcome = t(texts.WELCOME)
    own = t(texts.BTN_OWN_STYLE).lstrip(RLM)
    assert own in welcome and own in help_text
    assert t(texts.BTN_HD).lstrip(RLM) in welcome
    named = [texts.BTN_ANOTHER, texts.BTN_MIX, texts.BTN_HD, texts.BTN_SHARE]
    missing = [t(b).lstrip(RLM) for b in named if t(b).lstrip(RLM) not in help_text]
    colours = t(texts.BTN_KEEP_COLORS_ON).lstrip(RLM).split(":")[0].strip()
    assert colours == t(texts.BTN_KEEP_COLORS_OFF).lstrip(RLM).split(":")[0].strip()
    assert missing == [] and colours in help_text, (missing, colours)
    # 👀 and 🙂 are explained by the names their buttons carry; the Mini App uses the same.
    glance = TAG_RE.sub("", t(texts.HELP_GLANCE)).casefold()
    assert t(texts.BTN_GLANCE).lstrip(RLM).casefold() in glance
    protect = t(texts.HELP_PROTECT).casefold()
    assert [n for n in texts.PROTECT_NAMES.values()
            if t(n).lstrip(RLM).casefold() not in protect] == []
    assert t(texts.WEBAPP_KEEP_COLORS).lstrip(RLM) == colours.split(" ", 1)[1]
    assert t(texts.WEBAPP_OWN_STYLE) == t(texts.BTN_OWN_STYLE)


# --------------------------------------------------------------------------- choosing

@pytest.mark.parametrize("code, locale", [
    ("pt-br", "pt_BR"), ("pt-BR", "pt_BR"), ("pt", "pt_BR"), ("pt-PT", "pt_BR"),
    ("ru", "ru"), ("uk-UA", "uk"), ("de-AT", "de"), ("es-419", "es"), ("fa", "fa"),
    ("id", "id"), ("tr", "tr"), ("en", "en"), ("en-GB", "en"), ("ar", "ar"), ("ar-EG", "ar"),
    ("hi", "hi"), ("uz", "uz"), ("uz-Latn", "uz"), ("vi", "vi"), ("fr-CA", "fr"), ("it", "it"),
    ("xx", "en"), ("zh-hans", "en"), ("", "en"), (None, "en"),
])
def test_language_code_to_catalog(code: str | None, locale: str) -> None:
    assert resolve(code) == locale


def test_plural_forms_follow_the_language() -> None:
    ru = Translator("ru")
    assert "16 картин." in ru(texts.STYLES_CAPTION, count=16)
    assert "22 картины." in ru(texts.STYLES_CAPTION, count=22)
    assert "21 картина." in ru(texts.STYLES_CAPTION, count=21)
    assert "(1 item)" in Translator("en")(texts.FORGOTTEN, count=1)


# --------------------------------------------------------------------------- right to left

def _outside_isolates(line: str) -> str:
    return re.sub(f"{FSI}[^{PDI}]*{PDI}", "", line)


def test_persian_lines_read_right_to_left() -> None:
    """Each line starts with a right-to-left mark (so a line opening with an emoji or a Latin
    title is still laid out right to left) and every Latin name or title sits in its own
    isolate; numbers (in Persian digits) need nothing: the bidi algorithm keeps ۷۵٪ whole."""
    t = Translator("fa")
    samples = [
        t(texts.CAPTION_PRESET, title="The Starry Night", artist="Vincent van Gogh", year=1889),
        t(texts.CAPTION_MIX, title="The Scream", mix_title="The Starry Night"),
        t(texts.CAPTION_SETTINGS, pct=75),
        t(texts.CHOOSE_MIX, title="The Great Wave off Kanagawa"),
        t(texts.SHARED_BY, bot="@FreeStyleTransferBot"),
        t(texts.HELP, username="@FreeStyleTransferBot", ttl_hours=24, min_pct=25, max_pct=100),
        t(texts.WELCOME),
    ]
    for text in samples:
        for line in text.split("\n"):
            if line:
                assert line.startswith(RLM), repr(line)
    assert f"{FSI}The Starry Night{PDI}" in samples[0]
    assert f"{FSI}@FreeStyleTransferBot{PDI}" in samples[4], "the @ stays with the name"
    assert "۷۵٪" in samples[2] and FSI not in samples[2]
    # Outside the isolates, Latin is only format names and commands, never a line's start.
    for text in samples:
        for line in text.split("\n"):
            rest = _outside_isolates(line.lstrip(RLM))
            for word in re.findall(r"[A-Za-z]+", rest):
                assert word in {"HD", "JPEG", "PNG", "WebP", "HEIC", "styles", "help",
                                "stylize", "forget", "b", "i"}, (word, line)


def _screen(text: str) -> str:
    """What a phone shows, left to right (Unicode bidi algorithm), with the marks removed."""
    from bidi import get_display

    shown = get_display(TAG_RE.sub("", text))
    return "".join(c for c in shown if c not in {RLM, FSI, PDI})


def test_persian_on_screen() -> None:
    """Laid out by the bidi algorithm: the line starts on the right (its emoji is the
    rightmost character), "@name" keeps its @ in front, titles stay in their word order.
    Without the marks the @ lands behind the name — what this test guards against."""
    t = Translator("fa")
    shared = t(texts.SHARED_BY, bot="@FreeStyleTransferBot")
    assert "@FreeStyleTransferBot" in _screen(shared)
    raw = catalog("fa").gettext(texts.SHARED_BY).format(bot="@FreeStyleTransferBot")
    assert "FreeStyleTransferBot@" in _screen(raw), "the algorithm moves an unisolated @"
    mix = _screen(t(texts.CHOOSE_MIX, title="The Great Wave off Kanagawa"))
    assert "The Great Wave off Kanagawa" in mix and mix.endswith("➕")
    caption = _screen(t(texts.CAPTION_PRESET, title="The Starry Night",
                        artist="Vincent van Gogh", year=1889))
    assert caption.endswith("🎨") and "The Starry Night" in caption
    assert "Vincent van Gogh" in caption and "۱۸۸۹" in caption
    strength = _screen(t(texts.CAPTION_SETTINGS, pct=75))
    assert "٪۷۵" in strength, "Persian shows the percent sign left of the number"


def test_other_languages_get_no_bidi_marks() -> None:
    text = Translator("de")(texts.CAPTION_PRESET, title="The Scream", artist="Edvard Munch",
                            year=1893)
    assert not {RLM, FSI, PDI} & set(text)


# --------------------------------------------------------------------------- command menu

def test_command_menus_per_scope_and_language(tg: FakeTelegram) -> None:
    async def publish() -> int:
        async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as bot:
            return await publish_commands(bot)

    count = asyncio.run(publish())
    assert count == 3 * (1 + len(available()))
    private, group = {"type": "all_private_chats"}, {"type": "all_group_chats"}
    names = [c["command"] for c in tg.commands(private)]
    assert names == ["start", "styles", "help", "forget"]
    assert [c["command"] for c in tg.commands(group)][0] == "stylize"
    assert "start" not in [c["command"] for c in tg.commands(group)]
    assert tg.commands() == tg.commands(private), "the default scope: the private list"
    english = {c["command"]: c["description"] for c in tg.commands(private)}
    for language in ("ru", "uk", "es", "pt", "de", "fa", "id", "tr", "ar", "hi", "uz", "vi", "fr",
                     "it"):
        menu = {c["command"]: c["description"] for c in tg.commands(private, language)}
        assert menu.keys() == english.keys()
        assert all(menu[k] != english[k] for k in menu), (language, menu)
        assert tg.commands(group, language) != tg.commands(private, language)
    assert tg.commands(private, "ru")[0]["description"] == "Как это работает"


# --------------------------------------------------------------------------- whole flows

def _english_vocabulary() -> set[str]:
    words: set[str] = set()
    for msg in template():
        for source in _ids(msg) if msg.id else []:
            clean = re.sub(r"\{\w+\}|</?[a-z]+>|/\w+", " ", source)
            words |= {w.lower() for w in WORD_RE.findall(clean)}
    return words


def _own_words(locale: str) -> set[str]:
    words: set[str] = set()
    for msg in _catalog(locale):
        for form in _forms(msg) if msg.id else []:
            words |= {w.lower() for w in WORD_RE.findall(form)}
    return words


def _seen(h: BotHarness) -> list[str]:
    """Every text, caption, button label and pop-up the bot sent."""
    out: list[str] = []
    for call in h.tg.calls:
        params = call.params
        for key in ("text", "caption"):
            if isinstance(params.get(key), str):
                out.append(params[key])
        media = params.get("media")
        if isinstance(media, dict) and media.get("caption"):
            out.append(media["caption"])
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            out += [b["text"] for row in markup.get("inline_keyboard", []) for b in row]
    return out


@pytest.mark.parametrize("locale, code", [("en", "en"), ("ru", "ru"), ("uk", "uk"),
                                          ("es", "es"), ("pt_BR", "pt-br"), ("de", "de"),
                                          ("fa", "fa"), ("id", "id"), ("tr", "tr"), ("ar", "ar"),
                                          ("hi", "hi"), ("uz", "uz"), ("vi", "vi"),
                                          ("fr", "fr-FR"), ("it", "it")])
def test_whole_conversation_in_the_users_language(harness: BotHarness, engine: Any,
                                                  tmp_path: Path, locale: str,
                                                  code: str) -> None:
    h = harness
    user = {"id": 4100 + LOCALES.index(locale) if locale in LOCALES else 4099,
            "is_bot": False, "first_name": "Ana", "language_code": code}
    t = Translator(locale)
    h.feed(h.tg.text_update(None, user, "/start"))
    assert h.texts()[-1] == t(texts.WELCOME)
    h.feed(h.tg.text_update(None, user, "/help"))
    h.feed(h.tg.text_update(None, user, "/styles"))
    h.feed(h.photo(user, content_jpeg(side=160)))
    keyboard = h.last("sendMessage").result
    assert buttons(keyboard).keys() >= {t(texts.BTN_RANDOM), t(texts.BTN_OWN_STYLE)}
    h.feed(h.press(user, keyboard, button(keyboard, "1.")))
    result = h.last("sendPhoto")
    assert t(texts.CAPTION_SETTINGS, pct=100) in result.params["caption"]
    labels = buttons(result.result)
    assert {t(texts.BTN_ANOTHER), t(texts.BTN_MIX), t(texts.BTN_SHARE)} <= labels.keys()
    h.feed(h.press(user, result.result, labels[t(texts.BTN_STRENGTH, pct=50)]))
    edit = h.last("editMessageMedia")
    assert t(texts.CAPTION_SETTINGS, pct=50) in edit.params["media"]["caption"]
    assert t(texts.BTN_STRENGTH_CURRENT, pct=50) in buttons(edit.result)
    _clip_flow(h, user, t, tmp_path)
    if locale == "en":
        return
    painting_words = {w.lower() for p in engine.catalog.presets()
                      for w in WORD_RE.findall(f"{p.title} {p.artist}")}
    allowed = _own_words(locale) | painting_words | {h.app.bot.username.lower()}
    english = _english_vocabulary()
    seen = _seen(h)
    assert len(seen) > 20
    left = sorted({w for text in seen for w in (x.lower() for x in WORD_RE.findall(text))
                   if w in english and w not in allowed})
    assert left == [], f"English left in {locale}: {left}"


def _clip_flow(h: BotHarness, user: dict, t: Translator, tmp_path: Path) -> None:
    """A GIF painted, and a broken one refused, in the user's language."""
    data = cf.write_clip(cf.pan(MAGENTA_DIR / "content" / "golden_gate_sq.jpg", 4, (96, 64)),
                         tmp_path / "clip.mp4").read_bytes()
    fid = h.tg.add_file(data, kind="animation")
    h.feed(h.tg.animation_update(None, user, fid, file_size=len(data)))
    keyboard = h.last("sendMessage")
    assert keyboard.params["text"] == t(texts.CHOOSE_STYLE_CLIP)
    h.feed(h.press(user, keyboard.result, button(keyboard.result, "1.")))
    assert t(texts.CAPTION_SETTINGS, pct=100) in h.last("sendAnimation").params["caption"]
    broken = h.tg.add_file(b"not a clip at all", kind="animation")
    h.feed(h.tg.animation_update(None, user, broken, file_size=17))
    assert h.texts()[-1] == t(texts.CLIP_UNREADABLE)


def test_unknown_language_falls_back_to_english(harness: BotHarness, engine: Any) -> None:
    h = harness
    user = {"id": 4200, "is_bot": False, "first_name": "Kai", "language_code": "xx-yy"}
    h.feed(h.tg.text_update(None, user, "/start"))
    h.feed(h.photo(user, content_jpeg(side=160)))
    pages = keyboards.pages(len(engine.catalog.presets()))
    assert h.texts() == [texts.WELCOME, texts.CHOOSE_STYLE_PAGE.format(page=1, pages=pages)]
