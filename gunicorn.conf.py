"""gunicorn settings that app.yaml's command line does not hold (its entrypoint names this
file with -c): hooks only."""
from __future__ import annotations

from typing import Any


def post_worker_init(worker: Any) -> None:
    """A new worker starts warming (model compile, presets' codes, the bot built) as soon
    as it has loaded the app: App Engine's /_ah/warmup, and any request before it, overlap
    with that work instead of starting it (bench/ speed_cold)."""
    from webhook_app import warm_in_background

    warm_in_background(worker.wsgi)
