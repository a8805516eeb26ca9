"""Sphinx configuration of aekit's site: user guide (Markdown), API reference, example gallery.

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``. The gallery's budget is
``AEKIT_DOCS_BUDGET`` (``full`` by default, ``tiny`` in CI; docs/examples/_budget.py);
``AEKIT_DOCS_EXAMPLES`` (a regular expression on the lesson's path) runs only some lessons.
"""

import os
import shutil
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")

import aekit  # noqa: E402
from aekit.catalog import data_dir  # noqa: E402

# autosummary imports every module it lists; aekit.__main__ would run the command line
sys.modules.setdefault("aekit.__main__", types.ModuleType("aekit.__main__"))

project = "aekit"
author = "the aekit authors"
copyright = "the aekit authors, MIT licence"
release = version = aekit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "aekit_docs",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "HELPERS.md", "examples/README.rst", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.codeobj.json"]
templates_path = ["_templates"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autosummary_generate = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# a module's own members only: names a package re-exports are documented once, where they are defined
autodoc_default_options = {"show-inheritance": True, "ignore-module-all": True}

html_theme = "furo"
html_title = f"aekit {version}"
html_static_path = []

budget = os.environ.get("AEKIT_DOCS_BUDGET", "full")
# sphinx-gallery re-runs only the examples whose source changed: a build at the other budget starts afresh
made = HERE / "auto_examples" / ".budget"
if made.parent.exists() and (not made.exists() or made.read_text() != budget):
    shutil.rmtree(made.parent)
made.parent.mkdir(exist_ok=True)
made.write_text(budget)
# Lessons 10 and 14 read BBC News, which aekit does not ship: without it they show their code only
default_pattern = r"/plot_"
if not (data_dir() / "bbc-news" / "bbc-news.jsonl.gz").is_file():
    default_pattern = r"/plot_(?!10_|14_)"
    print(f"BBC News is not in {data_dir()}: lessons 10 and 14 are not run (set AEKIT_DATA_DIR to run them)")
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    # AEKIT_DOCS_EXAMPLES=plot_1[0-6] runs only those lessons (the others show their code, no output)
    "filename_pattern": os.environ.get("AEKIT_DOCS_EXAMPLES", default_pattern),
    "ignore_pattern": r"(__init__|_budget)\.py",
    "within_subsection_order": "FileNameSortKey",
    # aekit's pyplot-free figures first: pyplot's own scraper closes its figures after saving them
    "image_scrapers": ("aekit_docs", "matplotlib"),
    "reset_modules": ("matplotlib", "aekit_docs.reset_seed"),  # each lesson starts from one seed
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "min_reported_time": 5,
    # a lesson's notebook (its page's download) runs without docs/examples/_budget.py beside it: the full budget
    "first_notebook_cell": ("# This lesson at its full budget (the site's lessons read it from docs/examples/_budget.py)\n"
                            "import sys, types\n\nimport torch\n\n"
                            "torch.manual_seed(0)  # the weights of the page's figures\n"
                            "sys.modules['_budget'] = types.SimpleNamespace(BUDGET='full', "
                            "choose=lambda *, tiny, full: full)"),
    "capture_repr": (),  # no stray reprs (a colorbar, a title) under the code blocks
    "plot_gallery": "True",
}
