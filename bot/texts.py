"""Every string a user can see, in one place so tone and wording stay consistent.

The constants are English gettext msgids: handlers show them through the user's
Translator (``context.t(texts.X, name=value)``, bot/i18n.py). After adding or changing
one, run ``python -m bot.i18n update`` and translate the new entries in
bot/locales/*/LC_MESSAGES/bot.po (docs/TRANSLATING.md). Placeholders are ``{name}``;
every translation must keep the same ones. Values that carry a name come with their
"@" (``{bot}`` = "@FreeStyleTransferBot") so right-to-left text can isolate them whole.
"""
from __future__ import annotations


def N_(msgid: str) -> str:
    """Marks a msgid for extraction; translated where it is shown."""
    return msgid


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a counted msgid (its `count` picks the plural form)."""
    return singular, plural


# TRANSLATORS: keep "🖼 Use my own style" and "⬇ HD" identical to the button labels.
WELCOME = N_(
    "👋 Hi! I turn your photos into paintings.\n\n"
    "1. Send me a photo 📷\n"
    "2. Tap a painting — or tap 🖼 Use my own style and send a second photo\n"
    "3. Try other strengths and colours, then tap ⬇ HD for the full-size file\n\n"
    "/styles shows all the paintings · /help explains more"
)
WELCOME_GROUP = N_(
    "👋 Hi! I turn photos into paintings.\n\n"
    "Here in the group, send a photo with the caption /stylize — or reply /stylize "
    "to a photo — and tap a painting.\n\n"
    "/styles shows all the paintings · in a private chat with me it's even easier"
)

# TRANSLATORS: name the buttons exactly as they are labelled (🖼 Use my own style, 🎨 Keep
# colours, 🔁 Another style, ➕ Mix, ⬇ HD, ↗ Share). {min_pct}–{max_pct} = "25%–100%".
HELP = N_(
    "🎨 <b>How it works</b>\n"
    "• Send a photo, then tap a painting. The result keeps your photo's shape.\n"
    "• <b>Your own style:</b> tap 🖼 Use my own style, then send the photo whose look you "
    "want. Or send an album of two photos: the first gets the style of the second.\n"
    "• Under each result: strength {min_pct}–{max_pct}, 🎨 Keep colours, 🔁 Another style, "
    "➕ Mix (two paintings in one), ⬇ HD (the full-resolution file) and ↗ Share.\n"
    "• Send the photo as a <i>file</i> 📎 to keep its full resolution.\n"
    "• In groups: send a photo with the caption /stylize, or reply /stylize to a photo.\n"
    "• Type {username} in any chat to share your recent results.\n\n"
    "🔒 I keep only Telegram's reference to your photos, for {ttl_hours} h. "
    "/forget deletes everything now."
)

STYLES_CAPTION = NP_("🖼 {count} painting to choose from. Send me a photo and tap its number!",
                     "🖼 {count} paintings to choose from. Send me a photo and tap a number!")
# TRANSLATORS: one line per painting under the /styles collage, in languages whose titles
# differ from the collage's (English) ones.
STYLES_LEGEND_LINE = N_("{number}. {title}")
STYLES_CAPTION_GROUP = NP_(
    "🖼 {count} painting to choose from. Send a photo with the caption /stylize to use it!",
    "🖼 {count} paintings to choose from. Send a photo with the caption /stylize to use them!")

# --- photo in -----------------------------------------------------------------
CHOOSE_STYLE = N_("🎨 Pick a painting for your photo:")
CHOOSE_STYLE_PAGE = N_("🎨 Pick a painting for your photo ({page}/{pages}):")
CHOOSE_MIX = N_("➕ Pick a second painting to mix with <b>{title}</b>:")
SEND_STYLE = N_("🖼 Now send me the photo whose style you want.")
SEND_STYLE_GROUP = N_("🖼 Reply to this message with the photo whose style you want.")
STYLIZE_NEEDS_PHOTO = N_("Send /stylize as the caption of a photo, or reply /stylize to a photo 📷")
STYLIZE_PRIVATE = N_("Here you don't need /stylize — just send me a photo 📷")
SEND_A_PHOTO = N_("I can only paint photos 🙂 Send me a picture!")
NOT_AN_IMAGE = N_("That file isn't a picture I can read — send a JPEG, PNG, WebP or HEIC 🙂")
ALBUM_EXTRA = N_("📚 From an album I use two photos: the first gets the style of the second. "
                 "Send the others one at a time 🙂")
# Things I cannot paint yet: one sentence per kind (bot/handlers/photos.py NOT_YET).
NOT_YET_STICKER = N_("I can't paint stickers yet — send me a photo 🙂")

# --- buttons (short: two or three share a phone's keyboard row) --------------
BTN_PREV = "◀"
BTN_NEXT = "▶"
BTN_RANDOM = N_("🎲 Random")
BTN_OWN_STYLE = N_("🖼 Use my own style")
BTN_KEEP_COLORS_ON = N_("🎨 Keep colours: on")
BTN_KEEP_COLORS_OFF = N_("🎨 Keep colours: off")
BTN_ANOTHER = N_("🔁 Another style")
BTN_MIX = N_("➕ Mix")
BTN_HD = N_("⬇ HD")
BTN_SHARE = N_("↗ Share")
# TRANSLATORS: {pct} arrives written the language's way ("75 %", "%75", "۷۵٪").
BTN_STRENGTH = N_("{pct}")
BTN_STRENGTH_CURRENT = N_("• {pct} •")
# TRANSLATORS: the mix balance buttons, e.g. "75/25" = 75 % first painting, 25 % second.
BTN_MIX_WEIGHT = N_("{first}/{second}")
BTN_MIX_WEIGHT_CURRENT = N_("• {first}/{second} •")
BUTTON_EXPIRED = N_("This button has expired — send the photo again 🙂")
NOT_YOUR_BUTTON = N_("These buttons belong to the person who sent the photo 🙂")
ALREADY_THAT = N_("That's the current setting 🙂")
# TRANSLATORS: shown in a small pop-up: at most 200 characters.
HD_NEEDS_FILE = N_("Telegram compressed this photo, so HD would be the same size. "
                   "For real HD, send the photo as a file 📎")

# --- captions -----------------------------------------------------------------
CAPTION_PRESET = N_("🎨 <b>{title}</b> — {artist}, {year}")
CAPTION_MIX = N_("🎨 <b>{title}</b> × <b>{mix_title}</b>")
CAPTION_OWN_STYLE = N_("🖼 Content: your first photo · 🎨 Style: your second photo")
CAPTION_ALBUM = N_("🖼 Content: the first photo of your album · 🎨 Style: the second")
CAPTION_SETTINGS = N_("Strength {pct}")
CAPTION_SETTINGS_COLORS = N_("Strength {pct} · your colours kept")
CAPTION_MIX_WEIGHTS = N_("Mix {first}/{second}")
CAPTION_HD = N_("⬇ Full resolution ({width}×{height})")
OWN_STYLE_TITLE = N_("your style")
# Shared through inline mode: about the painting, nothing about the person.
SHARED_OWN_STYLE = N_("🎨 A photo in the style of another photo")
SHARED_BY = N_("Painted by {bot}")

# --- queue and limits ---------------------------------------------------------
# TRANSLATORS: {count} is the place in the queue (1 = next); the forms are there for
# languages whose wording changes with the number.
IN_LINE = NP_("⏳ You're #{count} in line…", "⏳ You're #{count} in line…")
TOO_MANY_PENDING = N_("⏳ I'm still painting your previous pictures — tap again once they're "
                      "done 🙂")

# --- privacy ------------------------------------------------------------------
FORGOTTEN = NP_("🧹 Done — I deleted everything I kept about you ({count} item).",
                "🧹 Done — I deleted everything I kept about you ({count} items).")
FORGOTTEN_NOTHING = N_("🧹 I had nothing stored about you.")
# In a group everybody reads the answer: no details there.
FORGOTTEN_GROUP = N_("🧹 Done — I keep nothing about you any more.")

# --- inline mode --------------------------------------------------------------
INLINE_EMPTY_BUTTON = N_("🎨 Make a painting")
INLINE_RESULT_TITLE = N_("Your painting")

# --- errors (one clear sentence each) -----------------------------------------
TOO_BIG = N_("That file is too big for me — Telegram lets bots download up to 20 MB. "
             "Try a smaller one 🙂")
TOO_SMALL = N_("That picture is too small — send one at least {min_side} px on each side 🙂")
UNREADABLE = N_("I couldn't read that picture — try another one 🙂")
UNREADABLE_FILE = N_("I couldn't read that file — try another one, or send the picture "
                     "as a photo 🙂")
TOO_MANY_PIXELS = N_("That picture has too many pixels for me — send a smaller one 🙂")
TOO_BIG_TO_OPEN = N_("That picture is too big for me to open as a file — send it as a photo "
                     "instead, or a smaller one 🙂")
STYLE_TOO_BIG = N_("That style picture is too big for me to open as a file — send it as a "
                   "photo instead, or a smaller one 🙂")
BAD_RATIO = N_("That picture is too long and thin — crop it a little and send it again 🙂")
STYLE_GONE = N_("That painting isn't available any more — pick another one 🙂")
UNSUPPORTED = N_("That image format isn't supported — send a JPEG, PNG, WebP or HEIC 🙂")
STYLE_UNREADABLE = N_("I couldn't read the style picture — try another one 🙂")
PHOTO_GONE = N_("I no longer have that photo — send it again 🙂")
TELEGRAM_FAILED = N_("Telegram didn't accept my answer — please try again in a moment 🙏")
MODEL_FAILED = N_("My brush slipped 🖌 — please try again in a moment.")
UNEXPECTED = N_("Oops, something went wrong on my side 🙈 Please try again.")

# --- rate limits: when the user may carry on
RATE_LIMITED_IN = N_("🐢 That's a lot of art! You can paint again in {seconds} s.")
SLOW_DOWN = N_("🐢 Easy there! Give me {seconds} s, then carry on.")
BUSY = N_("😅 I'm very busy right now — please try again in a minute.")

# --- brush (🖌): the size of the strokes; the names fill {brush}
BTN_BRUSH = N_("🖌 Brush: {brush}")
CAPTION_BRUSH = N_("🖌 {brush} brush")
BRUSH_BOLD, BRUSH_MEDIUM, BRUSH_FINE = N_("bold"), N_("medium"), N_("fine")
BRUSH_NAMES = {"bold": BRUSH_BOLD, "medium": BRUSH_MEDIUM, "fine": BRUSH_FINE}

# --- the command menu (short: Telegram shows them next to the input field) ----
CMD_START = N_("How it works")
CMD_STYLES = N_("All the paintings")
CMD_HELP = N_("Tips: own style, mixing, HD, sharing")
CMD_FORGET = N_("Delete everything I keep about you")
CMD_STYLIZE = N_("Paint a photo: caption or reply /stylize")

# --- clips: GIFs, animations, videos, round videos (bot/handlers/animations.py) ---
CHOOSE_STYLE_CLIP = N_("🎨 Pick a painting for your clip:")
# TRANSLATORS: {done} of {count} frames are painted; the form follows {count}.
CLIP_PROGRESS = NP_("🎞 Painting your clip… {done}/{count} frame",
                    "🎞 Painting your clip… {done}/{count} frames")
CLIP_CUT = NP_("✂ Only the first {count} second was painted.",
               "✂ Only the first {count} seconds were painted.")
CLIP_UNREADABLE = N_("I couldn't read that clip — it may be damaged. Try another one 🙂")
CLIP_NO_VIDEO = N_("That file has no picture in it, only sound — send a GIF or a video 🙂")
CLIP_EMPTY = N_("That clip has no frames in it — send another one 🙂")
CLIP_TOO_BIG = N_("That clip's frames are far too large for me — send a smaller one 🙂")
CLIP_TOO_MANY_FRAMES = N_("That clip has too many frames for me — send a shorter or slower "
                          "one 🙂")
CLIP_NO_HD = N_("Paintings of clips come in one size only 🙂")
HELP_BRUSH = N_("🖌 <b>Brush:</b> the button under a result switches between bold, medium and "
                "fine strokes and repaints in place.")
HELP_CLIPS = NP_("🎞 GIFs and short videos work too: they come back as a looping painted "
                 "animation (the first {count} second).",
                 "🎞 GIFs and short videos work too: they come back as a looping painted "
                 "animation (the first {count} seconds).")

# --- faces (🙂): keep faces / the person close to the photo; the names fill {mode}
BTN_PROTECT = N_("🙂 {mode}")
PROTECT_NONE = N_("Faces painted")
PROTECT_FACES = N_("Faces kept")
PROTECT_PERSON = N_("Person kept")
PROTECT_NAMES = {"none": PROTECT_NONE, "faces": PROTECT_FACES, "person": PROTECT_PERSON}
HELP_PROTECT = N_("🙂 <b>Faces</b> stay recognizable. When one is found, 🙂 under the result "
                  "switches: faces kept → whole person kept → faces painted.")

# --- 👀 9 at a glance: the photo painted in 9 paintings, one picture, buttons 1–9
BTN_GLANCE = N_("👀 9 at a glance")
BTN_GLANCE_RANDOM = N_("🎲 9 random")
# TRANSLATORS: {page} and {pages} are numbers: page 1 of 2.
GLANCE_CAPTION = N_("👀 Your photo in 9 paintings ({page}/{pages}). Tap a number to paint it "
                    "in full size.")
GLANCE_CAPTION_RANDOM = N_("🎲 Your photo in 9 random paintings. Tap a number to paint it in "
                           "full size.")
HELP_GLANCE = N_("👀 <b>9 at a glance</b> (under the painting list): your photo in 9 paintings "
                 "at once; tap a number to get that one in full.")

# --- the Mini App (bot/webapp): a page inside Telegram with live previews ---------------
WEBAPP_OPEN = N_("✨ Compare live")
WEBAPP_TITLE = N_("Pick a painting")
WEBAPP_HINT = N_("Tap a painting to see your photo in its style.")
WEBAPP_STRENGTH = N_("Strength")
WEBAPP_BRUSH = N_("Brush")
WEBAPP_KEEP_COLORS = N_("Keep colours")
WEBAPP_OWN_STYLE = N_("🖼 Use my own style")  # the same words as BTN_OWN_STYLE
WEBAPP_BEFORE = N_("Before")
WEBAPP_AFTER = N_("After")
# TRANSLATORS: Telegram's main button at the bottom of the page; keep it short.
WEBAPP_SEND = N_("Send to chat")
WEBAPP_PAINTING = N_("Painting…")
WEBAPP_SENT = N_("✅ Sent — your painting is in the chat.")
WEBAPP_EXPIRED = N_("I no longer have this photo — send it to me again in the chat 🙂")
WEBAPP_REFUSED = N_("Please open this page with the button under your photo in Telegram.")
WEBAPP_FAILED = N_("Something went wrong — please try again 🙂")
WEBAPP_STYLE_CAPTION = N_("🖼 The style you chose in the app")
