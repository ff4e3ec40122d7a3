"""Every string a user can see, in one place so tone and wording stay consistent."""
from __future__ import annotations

WELCOME = (
    "👋 Hi! I turn your photos into paintings.\n\n"
    "1. Send me a photo 📷\n"
    "2. Pick a painting — or send a second photo to use as the style\n"
    "3. Tweak strength and colours, then grab the HD version ⬇\n\n"
    "/styles shows all the paintings · /help explains more"
)

HELP = (
    "🎨 <b>How it works</b>\n"
    "• Send a photo, then tap a painting. The result keeps your photo's shape.\n"
    "• <b>Your own style:</b> send a photo, then a second one — the second becomes the style. "
    "An album of two photos works too (first = photo, second = style).\n"
    "• Under each result: strength 25–100 %, 🎨 keep your colours, 🔁 another painting, "
    "➕ mix two paintings, ⬇ full-resolution file, ↗ share.\n"
    "• Send the photo as a <i>file</i> to keep its full resolution.\n"
    "• In groups: send a photo with the caption /stylize, or reply /stylize to a photo.\n"
    "• Type @{username} in any chat to share your recent results.\n\n"
    "🔒 I keep only Telegram's reference to your photos, for {ttl_hours} h. "
    "/forget deletes everything now."
)

STYLES_CAPTION = "🖼 {count} paintings to choose from. Send me a photo and tap a number!"

# --- photo in -----------------------------------------------------------------
CHOOSE_STYLE = "🎨 Pick a painting for your photo:"
CHOOSE_STYLE_PAGE = "🎨 Pick a painting for your photo ({page}/{pages}):"
CHOOSE_MIX = "➕ Pick a second painting to mix with <b>{title}</b>:"
SEND_STYLE = "🖼 Send me the photo to use as the style."
SEND_STYLE_GROUP = "🖼 Reply to this message with the photo to use as the style."
STYLIZE_NEEDS_PHOTO = "Send /stylize as the caption of a photo, or reply /stylize to a photo 📷"
SEND_A_PHOTO = "I can only paint photos 🙂 Send me a picture!"
NOT_AN_IMAGE = "That file isn't an image I can read — send a JPEG, PNG, WebP or HEIC photo 🙂"

# --- buttons ------------------------------------------------------------------
BTN_PREV = "◀"
BTN_NEXT = "▶"
BTN_RANDOM = "🎲 Random"
BTN_OWN_STYLE = "🖼 Use my own style"
BTN_KEEP_COLORS_ON = "🎨 Keep colours: on"
BTN_KEEP_COLORS_OFF = "🎨 Keep colours: off"
BTN_ANOTHER = "🔁 Another style"
BTN_MIX = "➕ Mix"
BTN_HD = "⬇ HD"
BTN_SHARE = "↗ Share"
BTN_STRENGTH = "{pct}%"
BTN_STRENGTH_CURRENT = "• {pct}% •"
BUTTON_EXPIRED = "This button has expired — send the photo again 🙂"
NOT_YOUR_BUTTON = "These buttons belong to the person who sent the photo 🙂"
ALREADY_THAT = "That's the current setting 🙂"

# --- captions -----------------------------------------------------------------
CAPTION_PRESET = "🎨 <b>{title}</b> — {artist}, {year}"
CAPTION_MIX = "🎨 <b>{title}</b> × <b>{mix_title}</b>"
CAPTION_OWN_STYLE = "🖼 Content: your first photo · 🎨 Style: your second photo"
CAPTION_ALBUM = "🖼 Content: the first photo of your album · 🎨 Style: the second"
CAPTION_SETTINGS = "Strength {pct}%{colors}"
CAPTION_COLORS_KEPT = " · your colours kept"
CAPTION_HD = "⬇ Full resolution ({width}×{height})"
OWN_STYLE_TITLE = "your style"

# --- queue and limits ---------------------------------------------------------
IN_LINE = "⏳ You're #{position} in line…"
TOO_MANY_PENDING = "⏳ I'm still painting your previous pictures — tap again once they're done 🙂"
RATE_LIMITED = "🐢 That's a lot of art! Give me a minute and try again."

# --- privacy ------------------------------------------------------------------
FORGOTTEN = "🧹 Done — I deleted everything I kept about you ({count} items)."
FORGOTTEN_NOTHING = "🧹 I had nothing stored about you."

# --- inline mode --------------------------------------------------------------
INLINE_EMPTY_BUTTON = "Make your first painting first 🎨"
INLINE_RESULT_TITLE = "Your painting"

# --- errors (one clear sentence each) -----------------------------------------
TOO_BIG = "That file is too big for me — Telegram lets bots download up to 20 MB. Try a smaller one 🙂"
TOO_SMALL = "That picture is too small — send one at least {min_side} px on each side 🙂"
UNREADABLE = "I couldn't read that picture — try another one, or send it as a photo instead of a file."
TOO_MANY_PIXELS = "That picture has too many pixels for me — send a smaller one 🙂"
BAD_RATIO = "That picture is too long and thin — crop it a little and send it again 🙂"
STYLE_GONE = "That painting isn't available any more — pick another one 🙂"
UNSUPPORTED = "That image format isn't supported — send a JPEG, PNG, WebP or HEIC 🙂"
STYLE_UNREADABLE = "I couldn't read the style picture — try another one 🙂"
PHOTO_GONE = "I no longer have that photo — send it again 🙂"
TELEGRAM_FAILED = "Telegram didn't accept my answer — please try again in a moment 🙏"
MODEL_FAILED = "My painting brush slipped 🖌 — please try again in a moment."
UNEXPECTED = "Oops, something went wrong on my side 🙈 Please try again."

# --- added by animation work ----------------------------------------------------
CHOOSE_STYLE_CLIP = "🎨 Pick a painting for your clip:"
CLIP_PROGRESS = "🎞 Painting your clip… {done}/{total} frames"
CLIP_CUT = "✂ Only the first {seconds} seconds were painted."
CLIP_UNREADABLE = "I couldn't read that clip — it may be damaged. Try another one 🙂"
CLIP_NO_VIDEO = "That file has no picture in it, only sound — send a GIF or a video 🙂"
CLIP_EMPTY = "That clip has no frames in it — send another one 🙂"
CLIP_TOO_BIG = "That clip's frames are far too large for me — send a smaller one 🙂"
CLIP_TOO_MANY_FRAMES = "That clip has too many frames for me — send a shorter or slower one 🙂"
CLIP_NO_HD = "Paintings of clips come in one size only 🙂"
HELP_CLIPS = ("\n\n🎞 GIFs and short videos work too: they come back as a looping painted "
              "animation (the first 10 seconds).")
