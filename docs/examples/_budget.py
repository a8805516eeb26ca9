"""The gallery's one budget switch, read by every example.

``AEKIT_DOCS_BUDGET=full`` (the default, what a person building the site gets) trains each lesson
long enough for its pictures to mean something: a minute or two on 2 CPU cores.
``AEKIT_DOCS_BUDGET=tiny`` (what CI sets) runs every lesson in seconds on a few hundred samples:
the code runs end to end and every figure is drawn, but the pictures show barely trained models.
"""

import atexit
import os
import sys
import warnings
from pathlib import Path

BUDGET = os.environ.get("AEKIT_DOCS_BUDGET", "full")
if BUDGET not in ("tiny", "full"):
    raise SystemExit(f"AEKIT_DOCS_BUDGET: {BUDGET!r} is not allowed; choose one of: tiny, full")
TINY = BUDGET == "tiny"


def choose(*, tiny, full):
    """`tiny` under the CI budget, else `full`."""
    return tiny if TINY else full


def _show() -> None:
    """The lesson's figures in windows, once it has run on its own (`python docs/examples/plot_02_...py`)."""
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a backend without a display cannot show: nothing to say
        plt.show()


if Path(sys.argv[0]).name.startswith("plot_"):  # run on its own, not by the site's build (sphinx-gallery)
    atexit.register(_show)
