"""Every `>>>` example in aekit's docstrings runs as written (a docs trial: sklearn's used three names it never
imported)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import aekit


def test_every_docstring_example_runs():
    ran, failed = 0, []
    for info in pkgutil.walk_packages(aekit.__path__, "aekit."):
        if info.name.endswith("__main__"):  # runs the command line on import
            continue
        result = doctest.testmod(importlib.import_module(info.name), report=False)
        ran += result.attempted
        failed += [info.name] * bool(result.failed)
    assert ran > 0 and not failed, failed
