"""The gallery's one budget switch, read by every example.

``AEKIT_DOCS_BUDGET=full`` (the default, what a person building the site gets) trains each lesson
long enough for its pictures to mean something: a minute or two on 2 CPU cores.
``AEKIT_DOCS_BUDGET=tiny`` (what CI sets) runs every lesson in seconds on a few hundred samples:
the code runs end to end and every figure is drawn, but the pictures show barely trained models.
"""

import os

BUDGET = os.environ.get("AEKIT_DOCS_BUDGET", "full")
if BUDGET not in ("tiny", "full"):
    raise SystemExit(f"AEKIT_DOCS_BUDGET: {BUDGET!r} is not allowed; choose one of: tiny, full")
TINY = BUDGET == "tiny"


def choose(*, tiny, full):
    """`tiny` under the CI budget, else `full`."""
    return tiny if TINY else full
