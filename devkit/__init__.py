"""Development-only helpers shared by tests/ and bench/: the HTTP fake of the Bot API
(fake_telegram/), a pytest-free bot harness, synthetic clips and the webhook's test secret.

Nothing here is deployed (.gcloudignore drops /devkit/), and nothing here imports tests/.
"""
