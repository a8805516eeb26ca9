"""Model registry: `@register_model("name")` on an Autoencoder subclass, `create_model`, `list_models`."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from .catalog import cache_dir
from .config import build, keys_of, nearest, unknown_key
from .errors import ConfigError, warn
from .writing import atomic_write_text, check_writable

if TYPE_CHECKING:
    from .models.base import Autoencoder
    from .models.classifier import ClassifierMixin


@dataclass(frozen=True)
class ModelEntry:
    name: str
    cls: type
    summary: str  # the docstring's first line: the idea of the model
    kind: str = "autoencoder"  # or "classifier" (an encoder with a head, trained on labels), or
    # "semi-supervised" (a classifier trained on labels of which most are -1: unknown)


_MODELS: dict[str, ModelEntry] = {}
KINDS = ("autoencoder", "classifier", "semi-supervised")


ModelClass = TypeVar("ModelClass", bound=type)


def register_model(name: str, *, kind: str = "autoencoder") -> Callable[[ModelClass], ModelClass]:
    """Class decorator: register a model class (with a `Config` dataclass) under `name`."""
    if not isinstance(name, str) or not name or name == "auto":
        raise ConfigError(f"register_model: a model's name is a non-empty string other than 'auto', got {name!r}")
    if kind not in KINDS:
        raise ConfigError(f"register_model: kind {kind!r} is not allowed; choose one of: {', '.join(KINDS)}")

    def deco(cls: ModelClass) -> ModelClass:  # (typed: a type checker kept no class's own type, a types trial)
        from .models.base import Autoencoder
        from .models.classifier import ClassifierMixin

        if not (isinstance(cls, type) and dataclasses.is_dataclass(getattr(cls, "Config", None))):
            raise ConfigError(f"register_model({name!r}): decorates a model class whose Config is a dataclass of its "
                              f"keys (see models/tied.py), got {getattr(cls, '__name__', type(cls).__name__)}")
        fields = {f.name for f in dataclasses.fields(cls.Config)}
        loose = [k for klass in cls.Config.__mro__ if "__dataclass_params__" not in vars(klass)  # (not a dataclass's own:
                 for k in vars(klass).get("__annotations__", {}) if k not in fields  # its InitVars, a review)
                 and not k.startswith("_") and "ClassVar" not in str(vars(klass)["__annotations__"][k])]
        if loose:  # (a contributor trial: a Config subclass without @dataclass took its key as unknown, unsaid)
            raise ConfigError(f"register_model({name!r}): {cls.__name__}.Config declares {', '.join(loose)}, which is no "
                              "key of it: decorate it with @dataclass(frozen=True, kw_only=True) as its base is")
        base = Autoencoder if kind == "autoencoder" else ClassifierMixin  # (an extension trial: a bare nn.Module
        if not issubclass(cls, base):  # was registered, and failed in training on a method it lacked)
            raise ConfigError(f"register_model({name!r}): {cls.__name__} must subclass {base.__module__}."
                              f"{base.__name__} (a model of kind {kind!r}), which gives it the methods training calls")
        old = _MODELS[name].cls if name in _MODELS else cls
        if old is not cls and not same_class(old, cls):
            raise ConfigError(f"model {name!r} is registered twice: {_where(old)} and {_where(cls)} both register it; "
                              "give yours another name")
        doc = (cls.__doc__ or "").strip().splitlines()
        cls.name = name
        _MODELS[name] = ModelEntry(name, cls, doc[0] if doc else "", kind)
        return cls

    return deco


def _ensure_loaded() -> None:
    from . import models  # noqa: F401  (importing registers every model)


def _source(cls: type) -> Path | None:
    file = getattr(sys.modules.get(cls.__module__), "__file__", None)
    return Path(file).resolve() if file else None


def _other_module(path: Path) -> bool:
    """Whether importing `path`'s stem would find another module (an installed one of that name)."""
    try:
        spec = importlib.util.find_spec(path.stem)
    except (ImportError, ValueError):  # a stem with dots, say
        return True
    return spec is not None and Path(spec.origin or "").resolve() != path


def imported(path: Path) -> bool:
    """Whether the .py file `path` (resolved) is imported already, under any module name."""
    return any(Path(getattr(m, "__file__", None) or "").name == path.name and Path(m.__file__).resolve() == path
               for m in list(sys.modules.values()))


def same_class(a: type, b: type) -> bool:
    """Whether classes `a` and `b` are one model class imported again (under another module name, from the same file)
    or defined again (a notebook's cell run again)."""
    return a.__qualname__ == b.__qualname__ and (a.__module__ == b.__module__ or _source(a) == _source(b) is not None)


def _where(cls: type) -> str:
    """A model class's module and name, as a refusal names it."""
    return f"{cls.__module__}.{cls.__qualname__}"


class _SourceLoader(importlib.machinery.SourceFileLoader):
    """A .py file's loader that runs its source, never a bytecode cache beside it: trust is by the source's SHA-256,
    and a __pycache__ .pyc carrying the source's time and size ran in its place (a non-root hunt: another user's)."""

    def get_code(self, fullname: str) -> Any:
        return compile(self.get_data(self.path), self.path, "exec", dont_inherit=True)


class Untrusted(ImportError):
    """A module a run folder's import reaches that the user has not imported with aekit (_Checked)."""


class _Checked(importlib.abc.MetaPathFinder):
    """While a run folder's imports run: a module found outside the installed packages runs only where the user
    trusts its file (a non-root hunt: a trusted model file's helpers.py beside it, changed by another, ran unasked),
    and from its source."""

    def __init__(self, top: str) -> None:
        self.top = top  # the import the folder names
        self.refused: list[str] = []  # (said after the import: a user's `except ImportError` took one in silence)

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or not spec.origin or not spec.has_location or _installed(file := Path(spec.origin).resolve()):
            return None  # the usual finders' (installed, built in, frozen, a namespace package)
        if not trusted(file):
            self.refused.append(f"{file}, which {self.top} imports, {untrusted_state(file)}; if you trust it, import "
                                f"{self.top} once again: aekit models --imports {self.top}")
            raise Untrusted(self.refused[-1])
        if spec.origin.endswith(".py"):
            spec.loader = _SourceLoader(spec.name, spec.origin)
        return spec


@contextlib.contextmanager
def checked_imports(top: str) -> Iterator[None]:
    """`_Checked` first among the finders while the block runs."""
    finder = _Checked(top)
    sys.meta_path.insert(0, finder)
    try:
        yield
    except Exception as err:  # a refusal the user's code turned into an error of its own (a review: "install it")
        if finder.refused and not isinstance(err, Untrusted):
            raise Untrusted(finder.refused[0]) from None
        raise
    finally:
        sys.meta_path.remove(finder)
    if finder.refused:  # refused, and the import went on (its `except ImportError`): said all the same
        raise Untrusted(finder.refused[0])


def untrusted_file(item: str) -> Path | None:
    """The first file importing `item` would run that the user has not imported with aekit (`trusted`), or None: a
    .py path's; a module's level by level, as the import finds them, each package above it imported once it is
    trusted (its code, pkgutil's extend_path, may find the next elsewhere: a review's ./backports/evil.py)."""
    if item.endswith(".py"):
        file = Path(item).expanduser().resolve()
        return file if file.is_file() and not trusted(file) else None
    parts = item.split(".")
    try:
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            spec = None if name in sys.modules else importlib.util.find_spec(name)
            if spec is not None and spec.origin and spec.has_location:
                file = Path(spec.origin).resolve()
                if not trusted(file):
                    return file
            if depth < len(parts):
                with checked_imports(item):  # trusted, or a namespace package's (no code of its own)
                    importlib.import_module(name)
    except Exception:  # noqa: BLE001  (not found, or failing: import_models says what is wrong, in one line)
        return None
    return None


def _trust_mark(file: Path) -> Path:
    """The marker of `file` trusted, holding its contents' SHA-256: a file of its own in aekit's cache (processes
    trusting others at once lose none)."""
    return cache_dir() / "trusted-imports" / hashlib.sha256(str(file).encode()).hexdigest()[:32]


def _private(folder: Path) -> bool:
    """Whether no other user can change what `folder` holds (POSIX; elsewhere the system's own): markers another user
    could write are no marks of the user's (a locked-down trial: under umask 000 they were anyone's to add)."""
    if os.name != "posix":
        return True
    mode = folder.stat()
    return mode.st_uid == os.getuid() and not mode.st_mode & 0o002 and (not mode.st_mode & 0o020 or _own_group(mode.st_gid))


def _own_group(gid: int) -> bool:
    """Whether group `gid` is this user's private group (umask 002's systems: a review saw their marks refused)."""
    import grp
    import pwd

    try:
        group = grp.getgrgid(gid)
        return group.gr_name == pwd.getpwuid(os.getuid()).pw_name and not group.gr_mem and not any(
            user.pw_gid == gid and user.pw_uid != os.getuid() for user in pwd.getpwall())  # (no other's primary group)
    except KeyError:
        return False


def _digest(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


def _installed(file: Path) -> bool:
    """Whether `file` is installed code: site-packages, the standard library, aekit's own."""
    return any(file.is_relative_to(place) for place in _installed_places())


@functools.cache
def _installed_places() -> tuple[Path, ...]:
    """The standard library's folders, site-packages (the user's too: pip install --user) and aekit's own (a clone
    or an editable install of it), resolved as the files checked against them are (a review: a venv reached through a
    link had its site-packages refused)."""
    import site

    places = sysconfig.get_paths()
    user = [site.getusersitepackages()] if site.ENABLE_USER_SITE else []
    sites = site.getsitepackages() if hasattr(site, "getsitepackages") else []  # (a review: Debian's dist-packages)
    return tuple(Path(p).resolve() for p in [*(places[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")),
                                             *sites, *user, os.path.dirname(__file__)])


def _recorded(file: Path) -> str | None:
    """The SHA-256 `file` had when the user imported it with aekit, or None where they never did."""
    try:
        mark = _trust_mark(file)
        return mark.read_text(encoding="utf-8").split()[0] if _private(mark.parent) else None
    except (OSError, IndexError, ConfigError):  # (ConfigError: no cache folder at all, no home)
        return None


def trusted(file: Path) -> bool:
    """Whether `file`, as it is now, is code the user imported through aekit with settings of their own (a run's
    config or overrides, an experiment's, `--imports`, a model or data set of theirs that fit saved), or installed
    code (site-packages, the standard library). A file changed since is trusted no longer (a review: an archive
    unpacked again over a trusted folder ran its new code)."""
    return _installed(file) or _recorded(file) == _digest(file)


def known(file: Path) -> bool:
    """Whether the user imported `file` with aekit before, as it was then or not."""
    return _recorded(file) is not None


def untrusted_state(file: Path) -> str:
    """What an untrusted `file` is, as a refusal says it: changed since the user imported it, or never imported."""
    return "has changed since you imported it with aekit" if known(file) else ("is code you have not imported with "
                                                                               "aekit yourself")


def trust(files: list[Path]) -> None:
    """Record `files`, as they are now, as the user's own; a cache that cannot be written is said (reading a
    folder naming them asks again)."""
    for file in files:
        if _installed(file) or _recorded(file) == (digest := _digest(file)):
            continue
        try:
            mark = _trust_mark(file)
            mark.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            mark.parent.chmod(0o700)  # the user's alone, whatever the umask (made under umask 000: anyone's)
            atomic_write_text(mark, f"{digest} {file}\n")
        except (OSError, ConfigError) as err:
            if file in _UNRECORDED:  # (once a process: a review saw it twice a command)
                continue
            _UNRECORDED.add(file)
            why = err.strerror if isinstance(err, OSError) else str(err)
            warn(f"imports: {file} could not be recorded as yours in aekit's cache ({why}); a command that reads a run "
                 f"folder naming it takes --imports {file}, or set XDG_CACHE_HOME to a folder that can be written")


_UNRECORDED: set[Path] = set()  # the files this process said it could not record


def unrecordable() -> str | None:
    """Why aekit's cache cannot record a file as the user's (no home, a read-only or full cache), or None."""
    try:
        mark = _trust_mark(Path("probe"))
        folder = next(p for p in mark.parents if p.exists())
        if not folder.is_dir():
            return f"{folder} is a file"
        check_writable(mark)
    except ConfigError as err:
        return str(err)
    except OSError as err:
        return f"{err.filename}: {err.strerror}"
    return None


def imported_files(item: str) -> list[Path]:
    """The files an import of `item` done ran: a .py path's, or each level's of a module name."""
    if item.endswith(".py"):
        return [Path(item).expanduser().resolve()]
    parts = item.split(".")
    modules = [sys.modules.get(".".join(parts[:depth])) for depth in range(1, len(parts) + 1)]
    return [Path(m.__file__).resolve() for m in modules if getattr(m, "__file__", None)]


def import_models(items: Sequence[str], *, own: bool = True) -> None:
    """Import the .py files (paths) or modules that register your own models with @register_model, or data
    sets with @register_dataset (a run config's `imports`), so that its model.name or data.name may be one of
    them. A file already imported (under any module name) is not run again; one whose name an installed
    module has is imported under another; the modules beside a file import from it, as beside a script.
    `own`: the user's own settings name them, so a run folder naming them later may import them again
    (run.folder_imports)."""
    for item in items:
        before = set(sys.modules)
        try:
            _import_one(item, checked=not own)
        except (ConfigError, Untrusted) as err:
            raise ConfigError(f"imports: {err}" if isinstance(err, Untrusted) else str(err)) from None
        except Exception as err:  # the user's code: one line, with what it raised
            hint = " (give a .py file's path, or a module on the Python path)" if isinstance(err, ImportError) else ""
            raise ConfigError(f"imports: importing {item} failed: {type(err).__name__}: {err}{hint}") from None
        if own:  # (once imported: a review saw a package's __init__.py trusted by a command that then failed to import
            new = [getattr(sys.modules.get(key), "__file__", None) for key in set(sys.modules) - before]  # it) and the
            trust([file for file in imported_files(item) if file.is_file()] +  # files it imported (a non-root hunt: a
                  [Path(f).resolve() for f in new if isinstance(f, str) and os.path.isabs(f) and os.path.isfile(f)])
            # helpers.py beside it; a review: torch.ops' __file__ is "_ops.py", no path)


def _import_one(item: str, *, checked: bool) -> None:
    """Import `item`, a module's name or a .py file's path (import_models); `checked`: a run folder's (checked_imports),
    its module left out where a refusal comes after its import (a review: it stayed, its models registered)."""
    if not item.endswith(".py"):
        try:
            with checked_imports(item) if checked else contextlib.nullcontext():
                importlib.import_module(item)
        except Untrusted:
            sys.modules.pop(item, None)
            raise
        return
    path = Path(item).expanduser().resolve()
    if not path.is_file():
        where = f" (a relative path is read from the current folder, {Path.cwd()})" * (not Path(item).is_absolute())
        raise ConfigError(f"imports: {item} does not exist{where}")
    if imported(path):
        return
    taken = path.stem in sys.modules or _other_module(path)  # e.g. a user's onnx.py
    name = f"aekit_imports_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}" if taken else path.stem
    spec = importlib.util.spec_from_file_location(name, path, loader=_SourceLoader(name, str(path)))
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    if str(path.parent) not in sys.path:  # the modules beside it import as beside a script, then and in its
        sys.path.append(str(path.parent))  # functions later (installed ones first: a user's onnx.py is no onnx)
    try:
        with checked_imports(item) if checked else contextlib.nullcontext():
            spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]  # no half-made module left behind
        raise


def defining_module(cls: type) -> str | None:
    """Where a model class not of aekit's own is defined (its .py file, else its module's name), for the
    messages of a process that has not imported it ("__main__": a script's own); None for aekit's models."""
    if cls.__module__.split(".")[0] == "aekit":
        return None
    return "__main__" if cls.__module__ == "__main__" else str(_source(cls) or cls.__module__)


def list_models(kind: str = "autoencoder") -> list[str]:
    """The registered models of `kind`: the autoencoders, "classifier" or "semi-supervised"."""
    if kind not in KINDS:
        raise ConfigError(f"list_models: kind {kind!r} is not allowed; choose one of: {', '.join(KINDS)}")
    _ensure_loaded()
    return sorted(name for name, entry in _MODELS.items() if entry.kind == kind)


def model_entry(name: str, *, also: Mapping[str, str] | None = None, kind: str | None = None) -> ModelEntry:
    """The registry's entry of model `name`. `also`: names a caller takes beside the models (aekit train's auto),
    with what each is, listed and guessed among them when `name` is unknown, and `kind` the models listed then
    (None: all)."""
    _ensure_loaded()
    if name == "auto":  # not a model: aekit train's and the estimators' choice from the data
        raise ConfigError("model: 'auto' is chosen from the data by `aekit train` and the scikit-learn estimators; in "
                          "Python, keys = aekit.apps.run.auto_model({'name': 'auto'}, sample_shape, n_samples) gives its keys "
                          "(create_model(keys.pop('name'), input_shape=sample_shape, **keys)), or name a model: " + ", ".join(sorted(_MODELS)))
    if name not in _MODELS:
        others, models = dict(also or {}), sorted(m for m, entry in _MODELS.items() if kind in (None, entry.kind))
        listed = [*(f"{n} ({what})" for n, what in others.items()), *models]
        raise ConfigError(f"model: unknown model {name!r}{nearest(name, [*others, *models])}; choose one of: "
                          f"{', '.join(listed)} (or your own: import the .py file that registers it; a config names it under imports, and "
                          "aekit models and export take --imports FILE.py)")
    return _MODELS[name]


def model_kind(model) -> str | None:
    """The registered kind of a model instance (None for a model that was never registered)."""
    entry = _MODELS.get(getattr(model, "name", None))
    return entry.kind if entry is not None and isinstance(model, entry.cls) else None


def make_config(name: str, values: Mapping[str, Any] | None = None, where: str = "model"):
    """The validated config dataclass of model `name`; errors name the keys as `where.key`."""
    allowed = keys_of(model_entry(name).cls.Config)
    unknown = [key for key in values or {} if key not in allowed]
    if unknown and where == "model":  # another model's key named as the command line names it (a config trial)
        raise unknown_model_keys(name, unknown, allowed)
    return build(model_entry(name).cls.Config, values or {}, where=where)


def unknown_model_keys(name: str, unknown: list[str], allowed: set[str], *, choose: str = "build the model",
                       hint: str = "") -> ConfigError:
    """Every key of a model section that model `name` does not take, in one line: a typo's nearest keys, or the
    models whose keys they are (a config switched to another model.name keeps the old model's keys)."""
    owners = {key: [m for m in list_models() if m != name and key in keys_of(model_entry(m).cls.Config)]
              for key in unknown}
    if len(unknown) == 1 and not owners[unknown[0]]:  # a typo
        return unknown_key("model", unknown[0], allowed)
    said: list[tuple[list[str], str]] = []  # keys of one model together: 'a', 'b' (vq-vae's)
    for key in unknown:
        owner = f" ({owners[key][0]}'s)" if len(owners[key]) == 1 else "" if owners[key] else nearest(key, allowed)
        if said and owner and said[-1][1] == owner:
            said[-1][0].append(key)
        else:
            said.append(([key], owner))
    them, whose = ("it", "key it is") if len(unknown) == 1 else ("them", "keys they are")
    keys = "; ".join(", ".join(f"'{key}'" for key in group) + owner for group, owner in said)
    return ConfigError(f"model: {name} takes no {keys}: remove {them}, or {choose} whose {whose}{hint}; "
                       f"allowed keys: {', '.join(sorted(allowed))}")


# one training at a time in a process, and no seeded model built while one trains: torch's generator, its thread count
# and the deterministic flags are the process's, so two fits in threads drew each other's noise and left the flags
# changed (a concurrency hunt), and a model built in another thread drew its weights from a training's seeded stream
# and took draws from its dropout (a search trial: Optuna's threads; create_model's seed= builds under this lock);
# re-entrant (a fit inside a callback); processes (GridSearchCV's default loky, multiprocessing) train side by side
FIT_LOCK = threading.RLock()
if hasattr(os, "register_at_fork"):  # a child forked while another thread trained: free there, not held for ever by
    os.register_at_fork(after_in_child=FIT_LOCK._at_fork_reinit)  # a thread the child lacks (a review: a hang)


# the built-in models' names, for a type checker: create_model("dense") is an Autoencoder, create_model("m2") a
# classifier, without a cast (an API trial); a test keeps them equal to the registry's
AutoencoderName = Literal["aae", "contractive", "conv", "cvae", "denoising", "dense", "iwae", "linear", "sparse-kl",
                          "sparse-l1", "tied", "vae", "vq-vae", "wae"]
ClassifierName = Literal["encoder-classifier", "ladder", "m2"]


@overload
def create_model(name: AutoencoderName, *, seed: int | None = None, **config: Any) -> Autoencoder: ...
@overload
def create_model(name: ClassifierName, *, seed: int | None = None, **config: Any) -> ClassifierMixin: ...
@overload
def create_model(name: str, *, seed: int | None = None, **config: Any) -> Autoencoder | ClassifierMixin: ...


def create_model(name: str, *, seed: int | None = None, **config: Any) -> Autoencoder | ClassifierMixin:
    """Build model `name` from keyword config, e.g. `create_model("dense", input_shape=(784,), code_size=30)`: an
    Autoencoder, or for the classifiers (ladder, m2, encoder-classifier) a module of ClassifierMixin.

    Its initial weights are drawn from torch's random generator, as any torch code's; with `seed`, from the CPU
    generator seeded for it and left as it was, while no training runs in another thread (whose noise and dropout
    draw from it): threads of a search build their models alike whatever trains beside them. A model whose config has
    a `seed` key of its own takes `seed` as that key."""
    entry = model_entry(name)
    if seed is not None and "seed" in keys_of(entry.cls.Config):  # (a review: taken from the model's own key)
        config, seed = {**config, "seed": seed}, None
    checked = make_config(name, config)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64):
        raise ConfigError(f"seed: an integer from 0 to 2**64 - 1, got {seed!r}")
    import torch

    try:
        if seed is None:
            return entry.cls(checked)
        # the CPU generator alone: torch.manual_seed would seed CUDA's too, which fork_rng([]) does not give back (a
        # review); the lock is taken for the seeded draw alone, not for every model (a constructor building its parts
        # in threads waited for ever, and load_model for a whole training in another thread)
        with FIT_LOCK, torch.random.fork_rng(devices=[]):
            torch.random.default_generator.manual_seed(seed)
            return entry.cls(checked)
    except (ValueError, RuntimeError, TypeError) as err:  # a config of your own model's that its checks let through
        raise ConfigError(f"model: building {name} failed, its constructor raised {type(err).__name__}: {err} (check "
                          "its keys; --debug shows where)") from err
