"""Exception classes. Every message is one line that names what is wrong and what is allowed."""

import errno
import os
import shlex
import sys
import sysconfig
import traceback
import warnings

OUT_OF_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # a full disk or quota, a file size limit (ulimit -f)


def wraps_interrupt(err: BaseException) -> bool:
    """Whether `err` was raised for a Ctrl-C or SIGTERM (its cause or context, at any depth)."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, KeyboardInterrupt):
            return True
        err = err.__cause__ or err.__context__
    return False


def out_of_space(err: BaseException) -> bool:
    """Whether `err` is a write that failed for want of space: what freeing some (then resuming) mends."""
    return isinstance(err, OSError) and err.errno in OUT_OF_SPACE


def naming(err: OSError, path, *hidden) -> OSError:
    """`err` naming `path` where it named none (a full disk's write) or a hidden temporary in `hidden`;
    an error that names no errno, or another file, as it is."""
    if err.errno is not None and err.filename in (None, *map(str, hidden)):
        return OSError(err.errno, err.strerror, str(path))
    return err


def _libraries() -> tuple[str, ...]:
    """The folders of the standard library and the installed packages (aekit's own first; the user's site
    folder and a system Python's own dist-packages too), and frozen modules (importlib's, runpy's)."""
    import site

    paths, user = sysconfig.get_paths(), site.getusersitepackages() if site.ENABLE_USER_SITE else None
    folders = [os.path.dirname(__file__), *(paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")),
               *([user] if isinstance(user, str) else []), *(p for p in sys.path if p.endswith("dist-packages"))]
    return (*(os.path.join(folder, "") for folder in folders), "<frozen ")


class AekitWarning(UserWarning):
    """aekit's notes (about the data, the settings, a result): a category of their own, so that a program run with
    warnings as errors can let them through: `warnings.filterwarnings("ignore", category=aekit.AekitWarning)`, or
    pytest's `-W ignore::aekit.AekitWarning` (Python's own -W reads no installed package's category)."""


def warn(message: str, category: type[Warning] = AekitWarning) -> None:
    """`warnings.warn` of a note, told from the line of the user's code that led to it: the first frame
    outside aekit and the installed libraries (a scikit-learn Pipeline's), as Python 3.12's skip_file_prefixes;
    where there is none (the aekit command), aekit's line that warns."""
    skipped, frame, level = _libraries(), sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(skipped):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level if frame is not None else 2)


def shell(path) -> str:
    """A path as a command that a hint suggests takes it: quoted where it holds spaces or quotes (a paths trial:
    `aekit resume out dir/run` failed when pasted), in double quotes on Windows, whose cmd.exe keeps single ones (a
    portability review: every Windows path was quoted so, and the resume it advised failed)."""
    if os.name == "nt":  # (cmd.exe's own characters too, which list2cmdline leaves bare: a review)
        text = str(path)
        return f'"{text}"' if not text or any(c in text for c in ' \t&|<>^%()"') else text
    return shlex.quote(str(path))


def debugging() -> bool:
    """Whether AEKIT_DEBUG asks for whole tracebacks: set, and not 0, false, no or off (a CLI hunt: "false" turned it
    on)."""
    return os.environ.get("AEKIT_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off")


class AekitError(Exception):
    """Base class of every error aekit raises on purpose; the CLI prints its message alone."""

    @property
    def _render_traceback_(self):
        """What IPython and Jupyter show, `_render_traceback_()`: the message and the line of the user's code
        that led to it, not aekit's frames. With AEKIT_DEBUG=1 there is none, and IPython shows its own whole
        traceback (a method that raised was "Unexpected exception formatting exception")."""
        if debugging():
            raise AttributeError("_render_traceback_")
        return self._short_traceback

    def _short_traceback(self) -> list[str]:
        frames = [f for f in traceback.extract_tb(self.__traceback__)
                  if not f.filename.startswith(os.path.dirname(__file__) + os.sep)]
        yours = [f for f in frames if not f.filename.startswith(_libraries())] or frames  # not scikit-learn's line
        where = [f"  (from {yours[-1].filename}, line {yours[-1].lineno}: {yours[-1].line})"] if yours else []
        return [f"{type(self).__name__}: {self}", *where, "  (AEKIT_DEBUG=1 shows the whole traceback)"]


class ConfigError(AekitError, ValueError):
    """A configuration key or value is not allowed."""


class DataError(AekitError, ValueError):
    """Data has the wrong shape, type, range or content."""


class DataNotFoundError(DataError, FileNotFoundError):
    """Data files are missing and could not be downloaded."""


class NoTestSplitError(DataNotFoundError):
    """The data has no test part (a CSV, an .npy, a folder, an .npz without x_test)."""


class CheckpointError(AekitError):
    """A checkpoint or run folder is missing, truncated, tampered with or from another model."""


class NonFiniteLossError(AekitError, FloatingPointError):
    """The loss became NaN or infinite during training; `where` says when ("at epoch 2, batch 3"); `first`:
    on the first batch, before any step (the data or the model, not the learning rate)."""

    def __init__(self, message: str, *, value: float = float("nan"), where: str = "", first: bool = False) -> None:
        super().__init__(message)
        self.value, self.where, self.first = value, where, first
