"""The paintings of the bundled catalog (nst/data/styles/manifest.json) as msgids, so that
titles and artists reach the translators: «Звёздная ночь», «Ван Гог».

The msgid is the manifest's own English title or name, with the context "painting" or
"artist"; ``Translator.title``/``Translator.artist`` look them up and fall back to the
catalog's text for a painting nobody has translated (e.g. one added to a GCS catalog).
tests/test_i18n.py checks that every preset of the manifest is listed here.
"""
from __future__ import annotations


def NC_(context: str, msgid: str) -> str:
    """Marks a msgid with a context for extraction (bot/i18n.py KEYWORDS)."""
    return msgid


# TRANSLATORS: a painting's title as it is usually called in your language (museums,
# Wikipedia); where it has no usual name, translate it plainly or keep the original.
TITLES = (
    NC_("painting", "The Starry Night"),
    NC_("painting", "Starry Night Over the Rhône"),
    NC_("painting", "Wheat Field with Cypresses"),
    NC_("painting", "The Great Wave off Kanagawa"),
    NC_("painting", "The Scream"),
    NC_("painting", "The Wreck of a Transport Ship (also known as The Wreck of the Minotaur)"),
    NC_("painting", "Composition VII"),
    NC_("painting", "Udnie (Young American Girl, The Dance)"),
    NC_("painting", "Water Lilies"),
    NC_("painting", "San Giorgio Maggiore at Dusk"),
    NC_("painting", "The Kiss (Der Kuss)"),
    NC_("painting", "The Tree of Life, Stoclet Frieze"),
    NC_("painting", "A Sunday on La Grande Jatte — 1884"),
    NC_("painting", "Portrait of Jean Metzinger"),
    NC_("painting", "The Knife Grinder (Principle of Glittering)"),
    NC_("painting", "Te Fare (The House)"),
    NC_("painting", "Composition II in Red, Blue, and Yellow"),
    NC_("painting", "Composition XIII (Woman in Studio)"),
)

# TRANSLATORS: the artist's name in your language's usual spelling (script and form).
ARTISTS = (
    NC_("artist", "Vincent van Gogh"),
    NC_("artist", "Katsushika Hokusai"),
    NC_("artist", "Edvard Munch"),
    NC_("artist", "J. M. W. Turner"),
    NC_("artist", "Wassily Kandinsky"),
    NC_("artist", "Francis Picabia"),
    NC_("artist", "Claude Monet"),
    NC_("artist", "Gustav Klimt"),
    NC_("artist", "Georges Seurat"),
    NC_("artist", "Robert Delaunay"),
    NC_("artist", "Kazimir Malevich"),
    NC_("artist", "Paul Gauguin"),
    NC_("artist", "Piet Mondrian"),
    NC_("artist", "Theo van Doesburg"),
)
