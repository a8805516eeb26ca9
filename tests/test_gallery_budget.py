"""The gallery's lessons run on their own (docs/examples/_budget.py): aekit's figures, made without pyplot, are
shown beside pyplot's, and each run starts from one seed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def test_a_lesson_run_on_its_own_shows_aekits_figures_and_is_seeded(tmp_path):
    """A picture trial: `python docs/examples/plot_02_deep_vs_pca.py` showed none of aekit's figures (pyplot's
    plt.show knows its own alone), and the same lesson printed 475.0 and 494.2 on two runs (unseeded weights)."""
    lesson = tmp_path / "plot_99_check.py"
    lesson.write_text(
        "import _budget, torch\n"
        "import aekit\n"
        "from aekit.analysis import image_grid\n"
        "import matplotlib.pyplot as plt\n"
        "model = aekit.create_model('dense', input_shape=(4,), hidden=[3], code_size=2)\n"
        "print(float(next(model.parameters()).sum()))\n"
        "figs = [image_grid(torch.rand(2, 3, 1, 4, 4), title=str(i)) for i in range(2)]\n"
        "plt.plot([1, 2])\n"
        "_budget._adopt()\n"
        "print(len(plt.get_fignums()), all(plt.figure(n) is f for n, f in zip(plt.get_fignums()[1:], figs)))\n")
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": f"{EXAMPLES}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    runs = [subprocess.run([sys.executable, str(lesson)], capture_output=True, text=True, env=env, timeout=120)
            for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr[-2000:]
    first, second = (r.stdout.split("\n") for r in runs)
    assert first[0] == second[0]  # the same weights each run
    assert first[1] == "3 True"  # pyplot's figure and aekit's two, each in a window of its own


def test_a_lesson_run_on_its_own_shows_every_figure_at_its_end(tmp_path):
    """The hook itself (atexit): a display's backend, standing in here as one that counts the windows it shows."""
    (tmp_path / "counting.py").write_text(
        "from matplotlib.backend_bases import FigureManagerBase as FigureManager\n"
        "from matplotlib.backends.backend_agg import FigureCanvasAgg as FigureCanvas\n"
        "def show(*args, **kwargs):\n"
        "    import matplotlib.pyplot as plt\n"
        "    print('shown', len(plt.get_fignums()), flush=True)\n")
    lesson = tmp_path / "plot_98_check.py"
    lesson.write_text("import _budget, torch\nfrom aekit.analysis import image_grid\nimport matplotlib.pyplot as plt\n"
                      "for i in range(2):\n    fig = image_grid(torch.rand(1, 2, 1, 4, 4), title='t')  # the first one dropped\n"
                      "plt.plot([1, 2])\n")
    path = os.pathsep.join([str(EXAMPLES), str(tmp_path), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "MPLBACKEND": "module://counting", "PYTHONPATH": path}
    run = subprocess.run([sys.executable, str(lesson)], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "shown 3", (run.stdout, run.stderr[-2000:])


def test_a_lesson_run_by_ipythons_run_leaves_the_figures_to_jupyter():
    """A notebook trial: `%run plot_01_shallow.py` in Jupyter took the standalone branch (IPython sets __main__'s
    __file__), so every figure drawn in the kernel afterwards was held until it ended, in `unshown()` too."""
    pytest.importorskip("IPython")
    code = ("import sys; {shell}sys.modules['__main__'].__file__ = 'plot_97_check.py'; "
            "import _budget, aekit.analysis.plots as P; print(P.new_figure.__qualname__)")
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": f"{EXAMPLES}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    ipython = "from IPython.core.interactiveshell import InteractiveShell; shell = InteractiveShell.instance(); "
    for shell, made_by in (("", "_record.<locals>.recorded"),  # python plot_...py: recorded, shown at the end
                           (ipython, "_record.<locals>.recorded"),  # `ipython plot_...py`: so too (a review)
                           (ipython + "shell.kernel = object(); ", "new_figure")):  # %run in Jupyter: its own
        run = subprocess.run([sys.executable, "-c", code.format(shell=shell)], capture_output=True, text=True, env=env,
                             timeout=120)
        assert run.returncode == 0 and run.stdout.strip() == made_by, (run.stdout, run.stderr[-2000:])
