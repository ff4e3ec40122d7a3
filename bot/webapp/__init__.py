"""The Mini App: a page inside Telegram to compare paintings on the user's own photo.

    initdata.py  the check of Telegram.WebApp.initData (HMAC-SHA256, age, user)
    service.py   what the page asks of the bot, run on the bot's event loop: launch data,
                 previews through the fair queue, "send to chat" through the usual render
    routes.py    the Flask blueprint (page, thumbnails, JSON API) — webhook_app and polling
    local.py     polling mode: the blueprint on a small local HTTP server in a thread
    static/      index.html + app.css + app.js (no framework: one screen, a few controls)
"""
