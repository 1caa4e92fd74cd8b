"""``serve`` freezes the long-lived heap so full collections do not pause requests; job steps
freeze again only when they imported modules, and only in a process that opted in."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc
from gateway.jobs import freeze_long_lived_objects

freeze_long_lived_objects()
assert gc.get_freeze_count() == 0, "froze a process that never opted in (tests, workers)"
freeze_long_lived_objects(first=True)
at_start = gc.get_freeze_count()
assert at_start > 1000, at_start
kept = [[] for _ in range(100)]
freeze_long_lived_objects()
assert gc.get_freeze_count() == at_start, "froze again although no module was imported"
import decimal, fractions, statistics  # noqa: E401,F401  (what a step's imports look like)
freeze_long_lived_objects()
assert gc.get_freeze_count() > at_start + 100, "the newly imported modules were not frozen"
print("ok")
"""


def test_freezing_happens_at_start_and_after_imports_only():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
