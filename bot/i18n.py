"""The user's language: gettext catalogs compiled from the .po files on first use.

bot/texts.py holds the English msgids (marked ``N_`` / ``NP_``); the translations live in
bot/locales/<locale>/LC_MESSAGES/bot.po. They are compiled in memory with Babel the first
time a language is asked for, so a fresh clone and App Engine need no build step and no
committed .mo files. ``python -m bot.i18n update`` refreshes every .po after a string
changed in texts.py (see docs/TRANSLATING.md).
"""
from __future__ import annotations

import datetime as dt
import functools
import gettext
import io
import logging
from pathlib import Path
from typing import Any

from babel import Locale
from babel.numbers import format_decimal, format_percent

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "bot"
DEFAULT = "en"
RTL = frozenset({"fa", "ar", "he", "ur"})

# Unicode bidi controls: a right-to-left mark starts each line so that a line beginning
# with an emoji or a Latin painting title still reads right to left; first-strong
# isolates keep each inserted value (a title, a number, @username) in its own direction.
RLM, FSI, PDI = "\u200f", "\u2068", "\u2069"

Msg = str | tuple[str, str]   # a msgid, or (singular, plural) for counted texts

# A placeholder named "pct" or "…_pct" holds a percentage (0–100): "75 %" in de, "%75" in
# tr, "۷۵٪" in fa.
# Babel formats with the locale's symbols but always writes ASCII digits; these locales'
# own numbering system (CLDR's default) has other digits.
DIGITS = {"arabext": "۰۱۲۳۴۵۶۷۸۹", "arab": "٠١٢٣٤٥٦٧٨٩", "deva": "०१२३४५६७८९",
          "beng": "০১২৩৪৫৬৭৮৯"}


def available() -> tuple[str, ...]:
    """Locales with a catalog, e.g. ("de", "es", …, "pt_BR", …); English is the msgids."""
    found = LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
    return tuple(sorted(p.parent.parent.name for p in found))


def resolve(language_code: str | None) -> str:
    """Telegram's IETF tag to our locale: pt-br → pt_BR → pt → en; unknown → en."""
    if not language_code:
        return DEFAULT
    parts = language_code.replace("-", "_").split("_")
    lang = parts[0].lower()
    candidates = []
    if len(parts) > 1 and parts[1]:
        candidates.append(f"{lang}_{parts[1].upper()}")
    candidates.append(lang)
    have = available()
    for candidate in candidates:
        if candidate in have:
            return candidate
    # "pt" alone still gets Brazilian Portuguese rather than English.
    same_language = [loc for loc in have if loc.split("_")[0] == lang]
    return same_language[0] if same_language else DEFAULT


@functools.cache
def catalog(locale: str) -> gettext.NullTranslations:
    """The compiled catalog of `locale` (English: the msgids themselves)."""
    path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if locale == DEFAULT or not path.is_file():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(path, "rb") as fh:
        po = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, po, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Translator:
    """One user's language: ``t(texts.X, name=value)`` translates, then fills in.

    Numbers among the values are written the locale's way (digits, decimal comma, the
    percent sign's place for ``pct``); a counted text (``NP_``) picks its plural form by
    ``count``. Painting titles and artists: ``t.title(…)``, ``t.artist(…)``."""

    def __init__(self, locale: str = DEFAULT) -> None:
        self.locale = locale
        self.rtl = locale.split("_")[0] in RTL
        self._catalog = catalog(locale)
        cldr = Locale.parse(locale)
        self._numbering = cldr.default_numbering_system
        symbols = cldr.number_symbols.get(self._numbering) or cldr.number_symbols["latn"]
        self._percent_sign = symbols.get("percentSign", "%")
        self._digits = str.maketrans("0123456789", DIGITS.get(self._numbering, "0123456789"))

    @classmethod
    def for_code(cls, language_code: str | None) -> "Translator":
        return _translator(resolve(language_code))

    def number(self, value: float) -> str:
        """1889 → "1889" / "۱۸۸۹"; 2.5 → "2,5" in de. No grouping: the bot's numbers are
        years, pixel sizes and small counts, which nobody writes as "1.889"."""
        text = format_decimal(value, locale=self.locale, group_separator=False,
                              numbering_system=self._numbering)
        return text.translate(self._digits)

    def percent(self, value: float) -> str:
        """75 → "75%" (en), "75 %" (de), "%75" (tr), "۷۵٪" (fa)."""
        text = format_percent(value / 100, locale=self.locale, group_separator=False,
                              numbering_system=self._numbering)
        return text.replace("%", self._percent_sign).translate(self._digits)

    def title(self, title: str) -> str:
        """A painting's title as it is known in this language (the catalog's otherwise)."""
        return self._catalog.pgettext("painting", title)

    def artist(self, name: str) -> str:
        """An artist's name in this language's usual spelling."""
        return self._catalog.pgettext("artist", name)

    def _value(self, key: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value
        is_percent = key == "pct" or key.endswith("_pct")
        return self.percent(value) if is_percent else self.number(value)

    def __call__(self, msg: Msg, /, **values: Any) -> str:
        if isinstance(msg, tuple):
            text = self._catalog.ngettext(msg[0], msg[1], int(values.get("count", 0)))
        else:
            text = self._catalog.gettext(msg)
        values = {k: self._value(k, v) for k, v in values.items()}
        if self.rtl:  # numbers alone already read right; names and titles need isolating
            values = {k: f"{FSI}{v}{PDI}" if any(c.isalpha() for c in str(v)) else v
                      for k, v in values.items()}
        if values:
            text = text.format(**values)
        if self.rtl:
            text = "\n".join(RLM + line if line else line for line in text.split("\n"))
        return text


@functools.cache
def _translator(locale: str) -> Translator:
    return Translator(locale)


ENGLISH = Translator()


# --------------------------------------------------------------------------- catalog upkeep
# python -m bot.i18n update        msgids → bot.pot and every bot.po (new ones empty)
# python -m bot.i18n init LOCALE   start a catalog for a new language
# python -m bot.i18n check         untranslated or fuzzy messages, a stale bot.pot; exit 1 if any

SOURCES = ("texts.py", "paintings.py")
HEADER = ("# {locale} messages of the Free Style Transfer bot (python -m bot.i18n update).\n"
          "# Keep every {{placeholder}} of the msgid; see docs/TRANSLATING.md.")
KEYWORDS = {"N_": None, "NP_": (1, 2), "NC_": ((1, "c"), 2)}
POT = LOCALES_DIR / f"{DOMAIN}.pot"   # the template a translator starts from
FIXED_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)  # bot.pot: same msgids, same bytes


def template() -> Any:
    """A Babel Catalog of every msgid marked in bot/texts.py and bot/paintings.py (with
    translator comments and, for titles and artists, a context)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_file

    pot = Catalog(project="Free Style Transfer bot", fuzzy=False)
    root = LOCALES_DIR.parent
    for name in SOURCES:
        for line, message, comments, context in extract_from_file(
                "python", root / name, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",),
                options={"encoding": "utf-8"}):
            pot.add(message, None, [(f"bot/{name}", line)], auto_comments=comments,
                    context=context)
    return pot


def _render(po: Any) -> bytes:
    from babel.messages.pofile import write_po

    buffer = io.BytesIO()
    write_po(buffer, po, width=100, omit_header=False, ignore_obsolete=True,
             include_previous=False, include_lineno=False)
    return buffer.getvalue()


def _write(path: Path, po: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_render(po))


def pot_text() -> bytes:
    """bot.pot as `update` writes it (no dates: it changes only when a msgid does)."""
    pot = template()
    pot.creation_date = pot.revision_date = FIXED_DATE
    pot.header_comment = HEADER.format(locale="LANGUAGE")
    return _render(pot)


def pot_is_current() -> bool:
    return POT.is_file() and POT.read_bytes() == pot_text()


def po_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def update(locales: tuple[str, ...] | None = None) -> list[str]:
    """Merge the current msgids into each catalog; returns the locales written."""
    from babel.messages.pofile import read_po

    POT.write_bytes(pot_text())
    pot = template()
    done = []
    for locale in locales or available():
        with open(po_path(locale), "rb") as fh:
            po = read_po(fh, locale=locale)
        po.update(pot, no_fuzzy_matching=True, update_creation_date=False)
        _write(po_path(locale), po)
        done.append(locale)
    return done


def init(locale: str) -> Path:
    """An empty catalog for a new language (plural rules from Babel's locale data)."""
    from babel.messages.catalog import Catalog

    path = po_path(locale)
    if path.exists():
        raise SystemExit(f"{path} exists; use update")
    po = Catalog(locale=locale, project="Free Style Transfer bot", fuzzy=False,
                 header_comment=HEADER.format(locale=locale))
    po.update(template(), no_fuzzy_matching=True)
    _write(path, po)
    return path


def problems(locale: str) -> list[str]:
    """Messages of `locale` that are missing, untranslated or fuzzy."""
    from babel.messages.pofile import read_po

    with open(po_path(locale), "rb") as fh:
        po = read_po(fh, locale=locale)
    out = []
    for msg in template():
        if not msg.id:
            continue  # the header
        have = po.get(msg.id, context=msg.context)
        strings = have.string if have is not None else None
        texts = strings if isinstance(strings, (tuple, list)) else [strings]
        if have is None or have.fuzzy or not all(texts):
            out.append(f"{locale}: {msg.id if isinstance(msg.id, str) else msg.id[0]!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bot.i18n", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("update", help="write bot.pot; merge its msgids into every bot.po")
    new = sub.add_parser("init", help="start a catalog for a new locale, e.g. it or pt_BR")
    new.add_argument("locale")
    sub.add_parser("check", help="list missing or fuzzy translations (exit 1 if any)")
    args = parser.parse_args(argv)
    if args.command == "update":
        print("updated:", " ".join(update()))
        return 0
    if args.command == "init":
        print("created", init(args.locale))
        return 0
    missing = [line for locale in available() for line in problems(locale)]
    if not pot_is_current():
        missing.append(f"{POT.name} is out of date: python -m bot.i18n update")
    print("\n".join(missing) or "every catalog is complete")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
