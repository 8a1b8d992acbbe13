"""Test-wide settings: in CI, property tests are deterministic and never timed.

CI runs on a loaded 2-core machine: a per-example deadline there measures the machine,
not the code, and a fresh random seed each run would turn a rare finding into a red
build nobody can reproduce. Locally, hypothesis explores anew on every run.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
