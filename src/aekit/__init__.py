"""aekit: build, train, inspect and apply every classic kind of autoencoder.

The names below torch are imported on first use, so `aekit --version` and the listings of the
command line start in a fraction of a second.
"""

import os as _os
import signal as _signal
import sys as _sys
import threading as _threading


def _interrupted_at_start(signum, frame):
    """The aekit command's Ctrl-C before its own handlers are in (Python's start and these imports: a tenth of a
    second, longer under load), where Python printed an import's traceback: one line; nothing was done yet."""
    _os.write(2, b"aekit: interrupted as it started, before any work\n")
    _os._exit(128 + signum)


def _the_command() -> bool:
    """Whether this process is the aekit command: `aekit ...` or `python -m aekit ...` (not a program's own `python
    -m pkg.mod` whose package imports aekit, a review: its Ctrl-C ended it for good, its finally blocks unrun)."""
    argv = getattr(_sys, "orig_argv", [])
    options, module = argv[1 : len(argv) - len(_sys.argv) + 1], None  # the interpreter's own (not a program's `-m
    for i, option in enumerate(options):  # aekit`, pytest's marker); -m aekit, -maekit, -Om aekit
        cluster = option[1:] if option.startswith("-") and not option.startswith("--") else ""
        for j, flag in enumerate(cluster):
            if flag == "m":
                module = cluster[j + 1 :] or (options[i + 1] if i + 1 < len(options) else None)
            if flag in "mXWc":  # (the rest is its value)
                break
    return _os.path.basename(_sys.argv[0]) in ("aekit", "aekit.exe") or module in (
        "aekit", "aekit.apps.cli", "aekit.__main__")


if _the_command() and _threading.current_thread() is _threading.main_thread() and \
        _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, _interrupted_at_start)  # (apps/cli.py takes it over as a command starts)

import importlib as _importlib
from importlib.metadata import PackageNotFoundError as _NotInstalled
from importlib.metadata import version as _version

try:
    __version__ = _version("aekit")
except _NotInstalled:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

import typing as _typing
import warnings as _warnings

with _warnings.catch_warnings():  # Jupyter without ipywidgets: tqdm.auto warned as aekit imported it, whether or not
    _warnings.filterwarnings("ignore", "IProgress not found")  # a bar was asked for (aekit then prints epoch lines)
    import tqdm.auto as _tqdm_auto  # noqa: F401  (aekit's modules import it after this, quietly)

from .errors import (
    AekitError,
    AekitWarning,
    CheckpointError,
    ConfigError,
    DataError,
    NonFiniteLossError,
)

# torch's own thread count, where torch came first, before a user's set_num_threads after `import aekit`
# could hide it from training/threads.py, imported later (on first use)
_TORCH_THREADS = _sys.modules["torch"].get_num_threads() if "torch" in _sys.modules else None

_LAZY = {  # name -> the module that defines it (each imports torch)
    "Autoencoder": ".models",
    "Output": ".models",
    "create_model": ".registry",
    "list_models": ".registry",
    "register_model": ".registry",
    "load_model": ".training.checkpoint",
    "save_model": ".training.checkpoint",
    "TrainConfig": ".training.loop",
    "fit": ".training.loop",
}


# what an editor and a type checker see of the names imported on first use (a types trial: they were Any, and
# completion after `aekit.` offered none of them); `X as X` exports them to `mypy --strict` (an API trial)
if _typing.TYPE_CHECKING:
    from .models import Autoencoder as Autoencoder
    from .models import Output as Output
    from .registry import create_model as create_model
    from .registry import list_models as list_models
    from .registry import register_model as register_model
    from .training.checkpoint import load_model as load_model
    from .training.checkpoint import save_model as save_model
    from .training.loop import TrainConfig as TrainConfig
    from .training.loop import fit as fit


def __getattr__(name: str) -> _typing.Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'aekit' has no attribute {name!r}")
    value = getattr(_importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:  # the names imported on first use too (a notebook's completion lists them)
    return sorted({*globals(), *_LAZY})


__all__ = ["AekitError", "AekitWarning", "CheckpointError", "ConfigError", "DataError", "NonFiniteLossError", "__version__",
           "Autoencoder", "Output", "create_model", "list_models", "register_model", "load_model", "save_model",
           "TrainConfig", "fit"]  # (one literal list, which a type checker reads: _LAZY's names, a test checks)
