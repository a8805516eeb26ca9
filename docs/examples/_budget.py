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


_FIGURES: list = []  # aekit's figures (made without pyplot, which would not show them) of a lesson run on its own


def _record() -> None:
    """Keep each figure aekit's drawing functions make, to show it at the end."""
    from aekit.analysis import plots

    make = plots.new_figure

    def recorded(*args, **kwargs):
        fig = make(*args, **kwargs)
        _FIGURES.append(fig)
        return fig

    plots.new_figure = recorded


def _adopt() -> None:
    """Each of aekit's figures into a pyplot window of its own, beside pyplot's figures."""
    import matplotlib.pyplot as plt

    for fig in _FIGURES:
        window = plt.figure(figsize=fig.get_size_inches())
        window.canvas.figure = fig
        fig.set_canvas(window.canvas)
    _FIGURES.clear()


def _show() -> None:
    """The lesson's figures in windows, once it has run on its own (`python docs/examples/plot_02_...py`)."""
    import matplotlib.pyplot as plt

    _adopt()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a backend without a display cannot show: nothing to say
        plt.show()


# run on its own, not by the site's build (sphinx-gallery, whose sys.argv[0] names the lesson too)
if Path(getattr(sys.modules["__main__"], "__file__", "") or "").name.startswith("plot_"):
    import torch

    torch.manual_seed(0)  # the same weights each run, so the figures match the page (the build seeds alike)
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if getattr(shell, "kernel", None) is None:  # not `%run` in Jupyter, which shows the figures itself (recorded,
        _record()  # they were held, and shown, for the kernel's life)
        atexit.register(_show)
