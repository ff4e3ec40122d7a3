"""CI-sized run of the load driver (tests/load.py): the real gunicorn entrypoint, 5 % of
sends answered 429, 15 % carried out but answered 6 s late (past the read timeout of
messages), 10 % of updates resent (some concurrently). Small, tiny images, well
under a minute, and still a proof of exactly-once: every painting request answered once,
to the right chat and message, every duplicate dropped, no worker lost, RSS in budget.

Full size (documented in the README): ``python -m tests.load --users 32 --requests 3``.
"""
from __future__ import annotations

import pytest

from tests.load import RSS_BUDGET, run_load

pytestmark = pytest.mark.slow


def test_load_exactly_once_under_faults_and_duplicates(capsys: pytest.CaptureFixture) -> None:
    # Duplicates at 25 % here so a small run still resends several updates.
    result = run_load(6, 2, dup_rate=0.25, fault_rate=0.05, slow_rate=0.15, side=64,
                      time_limit=90, seed=1)
    with capsys.disabled():
        print(f"\n[load] {result.summary()}")
    assert not result.timed_out, "the run must finish within its time limit"
    assert result.bad_status == [], result.bad_status
    assert (result.lost, result.doubled, result.misdelivered) == (0, 0, 0)
    assert result.duplicates_sent > 0 and result.duplicates_dropped == result.duplicates_sent
    assert result.retries > 0, "429s were injected and retried"
    assert result.slow_answers > 0, "slow answers were mixed in"
    assert not result.worker_died
    assert 0 < result.peak_rss_mb * 1024 ** 2 < RSS_BUDGET
    assert result.ok
