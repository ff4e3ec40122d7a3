"""The user's language: gettext catalogs compiled from the .po files on first use.

bot/texts.py holds the English msgids (marked ``N_`` / ``NP_``); the translations live in
bot/locales/<locale>/LC_MESSAGES/bot.po. They are compiled in memory with Babel the first
time a language is asked for, so a fresh clone and App Engine need no build step and no
committed .mo files. ``python -m bot.i18n update`` refreshes every .po after a string
changed in texts.py (see docs/TRANSLATING.md).
"""
from __future__ import annotations

import functools
import gettext
import io
import logging
from pathlib import Path
from typing import Any

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
    """One user's language: ``t(texts.X, name=value)`` translates, then fills in."""

    def __init__(self, locale: str = DEFAULT) -> None:
        self.locale = locale
        self.rtl = locale.split("_")[0] in RTL
        self._catalog = catalog(locale)

    @classmethod
    def for_code(cls, language_code: str | None) -> "Translator":
        return cls(resolve(language_code))

    def __call__(self, msg: Msg, /, **values: Any) -> str:
        if isinstance(msg, tuple):
            text = self._catalog.ngettext(msg[0], msg[1], int(values.get("count", 0)))
        else:
            text = self._catalog.gettext(msg)
        if self.rtl:  # numbers alone already read right; names and titles need isolating
            values = {k: f"{FSI}{v}{PDI}" if any(c.isalpha() for c in str(v)) else v
                      for k, v in values.items()}
        if values:
            text = text.format(**values)
        if self.rtl:
            text = "\n".join(RLM + line if line else line for line in text.split("\n"))
        return text


ENGLISH = Translator()


# --------------------------------------------------------------------------- catalog upkeep
# python -m bot.i18n update        msgids from bot/texts.py → every bot.po (new ones empty)
# python -m bot.i18n init LOCALE   start a catalog for a new language
# python -m bot.i18n check         list untranslated or fuzzy messages; exit 1 if any

SOURCES = ("texts.py",)
HEADER = ("# {locale} messages of the Free Style Transfer bot (python -m bot.i18n update).\n"
          "# Keep every {{placeholder}} of the msgid; see docs/TRANSLATING.md.")
KEYWORDS = {"N_": None, "NP_": (1, 2)}


def template() -> Any:
    """A Babel Catalog of every msgid marked in bot/texts.py (with translator comments)."""
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


def _write(path: Path, po: Any) -> None:
    from babel.messages.pofile import write_po

    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, po, width=100, omit_header=False, ignore_obsolete=True,
             include_previous=False, include_lineno=False)
    path.write_bytes(buffer.getvalue())


def po_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def update(locales: tuple[str, ...] | None = None) -> list[str]:
    """Merge the current msgids into each catalog; returns the locales written."""
    from babel.messages.pofile import read_po

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
        have = po.get(msg.id)
        strings = have.string if have is not None else None
        texts = strings if isinstance(strings, (tuple, list)) else [strings]
        if have is None or have.fuzzy or not all(texts):
            out.append(f"{locale}: {msg.id if isinstance(msg.id, str) else msg.id[0]!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bot.i18n", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("update", help="merge the msgids of bot/texts.py into every bot.po")
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
    print("\n".join(missing) or "every catalog is complete")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
