"""Benchmarks of the Free Style Transfer engine and bot: ``python -m bench``.

Every figure is measured side by side with a baseline in the same run (interleaved
repetitions, median and spread) and written to ``bench/results.json`` and
``bench/RESULTS.md``. Modules: ``cases`` (registry); what is measured: ``cases_engine``
(the engine as shipped), ``cases_settings`` (its settings and alternatives), ``cases_web``
(the served bot); ``naive`` (baselines A and B), ``measure`` (timing, RSS, child
processes), ``child`` (work done in a fresh process), ``report`` (outputs), ``launcher``
(app.yaml's gunicorn on loopback, shared with the tests).
"""
