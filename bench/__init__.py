"""Benchmarks of the Free Style Transfer engine and bot: ``python -m bench``.

Every figure is measured side by side with a baseline in the same run (interleaved
repetitions, median and spread) and written to ``bench/results.json`` and
``bench/RESULTS.md``. Modules: ``cases`` (registry), ``cases_engine`` / ``cases_extra`` /
``cases_web`` (what is measured), ``naive`` (baselines A and B), ``measure`` (timing,
RSS, child processes), ``child`` (work done in a fresh process), ``report`` (outputs),
``launcher`` (app.yaml's gunicorn on loopback, shared with the tests).
"""
