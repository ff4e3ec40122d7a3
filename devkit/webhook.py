"""The secret the webhook is configured with in tests and benchmarks, and the header
Telegram sends it in (= webhook_app.SECRET_HEADER)."""
from __future__ import annotations

SECRET = "test-secret_0123456789"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEADERS = {SECRET_HEADER: SECRET}
