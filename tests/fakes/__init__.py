"""Faithful fakes of the paid fine-tuning providers: real HTTP servers on 127.0.0.1:0.

Each fake implements its provider's routes, job state machine (driven by a ``FakeClock`` the
test advances: no sleeps), error shapes, validation of the uploaded JSONL, and local grading.
Tests drive them through the official SDKs pointed at ``fake.url``.

Loaded as the package ``srlforge_test_fakes`` by ``tests/paid_ft_service/conftest.py`` (the
suite runs in importlib mode, so test folders are not importable packages).
"""
