"""The Mini App end to end (fixture `miniapp`): devkit.miniapp.serve_app — create_app() with
the /app blueprint over real HTTP, the HTTP fake of the Bot API, SQLite, the real engine."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from devkit.miniapp import MiniAppServer, serve_app


@pytest.fixture
def miniapp(tmp_path: Path) -> Iterator[MiniAppServer]:
    yield from serve_app(tmp_path)
