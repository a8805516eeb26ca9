"""Typed configs with strict validation, YAML/JSON loading and dotted overrides.

Every config is a dataclass. `build(cls, values, where=...)` turns a plain mapping (from YAML,
JSON, keyword arguments or the command line) into that dataclass, converting lists to tuples and
ints to floats where the annotation asks, and raising `ConfigError` naming the key and the allowed
keys or values on anything else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import difflib
import functools
import json
import math
import numbers
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import numpy as np
import yaml

from .errors import ConfigError, warn

T = TypeVar("T")


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin in (tuple, list):
        args = get_args(tp)
        return f"a list of {_type_name(args[0])}" if args else "a list"
    if origin is dict or tp is dict:
        return "a mapping"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def coerce(value: Any, tp: Any, where: str) -> Any:
    """Return `value` converted to the annotated type `tp`, or raise ConfigError naming `where`."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if isinstance(value, _Octal) and tp in (int, float):
        raise ConfigError(f"{where}: {value.text} is octal to YAML ({int(value)}); leave the leading 0 out")
    if origin is Literal:
        allowed = get_args(tp)
        if isinstance(value, bool):  # YAML 1.1 reads off/no/false (on/yes/true) as a bool: amp: off
            value = next((word for word in (YAML_TRUE if value else YAML_FALSE) if word in allowed), value)
        if value in allowed and type(value) is type(allowed[allowed.index(value)]):
            return value
        if isinstance(value, str) and value in allowed:  # numpy's str_ (a table of settings), a str Enum: a plain str
            return str.__str__(value)
        raise ConfigError(f"{where}: {_shown(value)} is not allowed; choose one of: {', '.join(map(str, allowed))}")
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            raise ConfigError(f"{where}: must be {_type_name(tp)}, not null")
        if type(None) in args and isinstance(value, str) and value in ("None", "none")[: 1 + (str not in args)]:
            raise ConfigError(f"{where}: {value!r} is text here; write null (or ~) for none")  # Python's null (a config
            # trial: output.name=None trained into a folder named None)
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, where)
            except ConfigError as err:
                errors.append(err)
        if len(errors) == 1:
            raise errors[0]
        raise ConfigError(f"{where}: {value!r} must be {_type_name(tp)}")
    if value is None and dataclasses.is_dataclass(tp):  # a section with its keys commented out (a config trial)
        return build(tp, {}, where=where)
    if value is None:  # YAML's null where a value is needed: said in YAML's word
        words = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
        hint = " (with train.time_budget, leave epochs out: the budget replaces them)" * where.endswith("train.epochs")
        raise ConfigError(f"{where}: must be {words.get(tp) or _type_name(tp)}, not null{hint}")
    if origin in (tuple, list):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        inner = args[0] if args else Any
        if isinstance(value, np.ndarray) and value.ndim == 1:  # (np.array([16, 8]), as a grid search makes them)
            value = value.tolist()
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            try:  # good items, not in brackets (256 or 256,64): say how to write them
                for item in str(value).split(",") if isinstance(value, str) else [value]:
                    coerce(safe_yaml(item, where) if isinstance(value, str) else item, inner, where)  # (an alias bomb
                    # in a model file's string: 6.6 KB took 656 MB, an untrusted-files hunt)
                hint = f", such as [{value}]"
            except (ConfigError, yaml.YAMLError):
                hint = ""
            raise ConfigError(f"{where}: {value!r} must be {_type_name(tp)}{hint}")
        items = [coerce(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: {value!r} must be a mapping")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            first = dataclasses.fields(tp)[0].name
            raise ConfigError(f"{where}: must be a mapping of its keys (such as {where}.{first}=...), got {_shown(value)}")
        return build(tp, value, where=where)
    if tp in (bool, str):
        if isinstance(value, tp):
            return str.__str__(value) if tp is str else value  # numpy's str_ as a plain str: YAML writes that alone
        if tp is bool and isinstance(value, np.bool_):  # numpy's (a mask's element, a grid of flags)
            return bool(value)
        quote = (f" (YAML reads yes, no, on and off as true or false: quote the word, {where}='no')" if isinstance(value, bool)
                 else f" (YAML reads it as a {'date' if isinstance(value, datetime.date) else 'number'}: quote it, "
                      f"{where}='...')" if tp is str and
                 isinstance(value, (int, float, datetime.date)) else "")
        raise ConfigError(f"{where}: {_shown(value)} must be {'true or false' if tp is bool else 'a string'}{quote}")
    # numbers.Real takes numpy's scalars too (np.int64 from np.arange in a grid search); a bool is no number here
    if tp is int:
        written = value
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d[\d_]*(\.\d*)?[eE][+-]?\d+", value.strip()):
            value = float(value)  # what YAML 1.1 reads as text: 1e3, 1.0e3 (a config trial); "3" stays refused
        whole = isinstance(value, numbers.Integral) or (isinstance(value, numbers.Real) and float(value).is_integer())
        if whole and not isinstance(value, bool):
            return int(value)
        octal = isinstance(value, str) and re.fullmatch(r"[+-]?0\d+", value.strip())  # 08: YAML 1.1's text, 010 its 8
        raise ConfigError(f"{where}: {_shown(written)} must be an integer" + (
            " (YAML reads a number with a leading 0 as octal, and one with an 8 or a 9 as text: leave the 0 out)" if octal
            else ""))
    if tp is float:
        number = None
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
            with contextlib.suppress(ValueError):
                number = float(value)
        if number is not None and math.isfinite(number):
            return number
        seconds = " of seconds (5 minutes: 300)" if where.endswith("time_budget") and number is None else ""
        raise ConfigError(f"{where}: {_shown(value)} must be a {'finite ' * (number is not None)}number{seconds}")
    return value


YAML_TRUE, YAML_FALSE = ("on", "yes", "true"), ("off", "no", "false")


def _shown(value: Any) -> str:
    """A value as the user wrote it in YAML: null, true, false; repr otherwise."""
    if isinstance(value, str):  # numpy's str_ too: 'adm', not np.str_('adm')
        return repr(str.__str__(value))
    return json.dumps(value) if value is None or isinstance(value, bool) else repr(value)


def nearest(word: Any, allowed) -> str:
    """" (did you mean 'epochs'?)" for the allowed words (two at most) near a mistyped one ("epoch"); "" if none is."""
    near = difflib.get_close_matches(str(word), [str(a) for a in allowed], n=2)
    return f" (did you mean {' or '.join(map(repr, near))}?)" if near else ""


def unknown_key(label: str, key: Any, allowed) -> ConfigError:
    return ConfigError(f"{label}: unknown key '{key}'{nearest(key, allowed)}; allowed keys: "
                       f"{', '.join(sorted(allowed)) or 'none (it has no keys of its own)'}")


def build(cls: type[T], values: Mapping[str, Any] | None, *, where: str) -> T:
    """Make dataclass `cls` from `values`, strictly: unknown keys and bad values raise ConfigError.
    `where` starts the keys' names in messages ("train" -> train.lr); "" for a whole config (its keys are
    named as the user writes them: train.lr, not config.train.lr)."""
    values = dict(values or {})
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    label, prefix = where or "config", f"{where}." if where else ""
    for key in values:
        if key not in fields:
            raise unknown_key(label, key, fields)
    for name, f in fields.items():
        if name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{label}: missing required key '{name}'")
    hints = typing.get_type_hints(cls)
    # a list left empty (`imports:`, its items commented out) where the default is empty: empty (a config trial)
    values.update({k: () for k, v in values.items() if v is None and fields[k].default == ()})
    converted = {k: coerce(v, hints[k], f"{prefix}{k}") for k, v in values.items()}
    try:
        return cls(**converted)
    except ConfigError as err:
        if not where or str(err).startswith(where):
            raise
        raise ConfigError(f"{where}.{err}") from None


def check_types(config: Any) -> None:
    """Convert each field to its annotated type as `build` does (a YAML 1.1 "1e-3" to 1e-3), or refuse it in
    one line: a config made in Python, TrainConfig(epochs="3"), is checked as one read from a file."""
    hints = _hints(type(config))
    for f in dataclasses.fields(config):
        object.__setattr__(config, f.name, coerce(getattr(config, f.name), hints[f.name], f.name))  # (frozen too)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def to_dict(config: Any) -> dict[str, Any]:
    """A dataclass as plain lists/dicts, ready for YAML or JSON."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(config)


SEED_MAX = 2**32 - 1  # torch's and numpy's generators take seeds this large (and fit's epoch orders stay in range)


def check(condition: bool, key: str, message: str) -> None:
    """Raise ConfigError('key: message') unless `condition`; for use in `__post_init__`."""
    if not condition:
        raise ConfigError(f"{key}: {message}")


def positive(key: str, value: float | int | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    check(_number(value) and value > 0, key, f"must be {'' if _number(value) else 'a number '}> 0, got {value!r}")


def keys_of(cls: type) -> set[str]:
    """A config dataclass's keys (its fields; not its ClassVars, which __dataclass_fields__ holds too)."""
    return {f.name for f in dataclasses.fields(cls)}


def count(key: str, value: Any, minimum: int = 1, maximum: float = math.inf) -> None:
    """`value` must be a whole number of at least `minimum` (a number of samples, steps or units), and at most
    `maximum`."""
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    least = '> 0' if minimum == 1 else f'>= {minimum}'
    check(whole and minimum <= value <= maximum, key, f"must be a whole number {least}"
          f"{f' and <= {maximum}' if maximum < math.inf else ''}, got {value!r}")


def non_negative(key: str, value: float | int) -> None:
    check(_number(value) and value >= 0, key, f"must be {'' if _number(value) else 'a number '}>= 0, got {value!r}")


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def layer_widths(key: str, widths: tuple[int, ...] | None) -> None:
    """Every layer width (or channel count) in `widths` must be > 0; None (a default) passes."""
    if widths is not None:
        check(all(w > 0 for w in widths), key, f"widths must be > 0, got {list(widths)}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (where the last would silently win)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key in seen:
                raise ConfigError(f"line {key_node.start_mark.line + 1}: key '{key}' is given twice; keep one")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):
        """YAML 1.1's octal (010 is 8) marked, for a number key to refuse (coerce): a leading 0 reads as decimal to
        people (a review: seed: 010 was 8, unsaid)."""
        value = super().construct_yaml_int(node)
        return _Octal(value, node.value) if re.fullmatch(r"[-+]?0[0-7_]+", str(node.value)) and value else value


class _Octal(int):
    """An int YAML read from octal digits (010), with the text as written."""

    def __new__(cls, value: int, text: str):
        number = super().__new__(cls, value)
        number.text = text
        return number


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _UniqueKeyLoader.construct_yaml_int)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise ConfigError(f"key '{key}' is given twice; keep one")
    return dict(pairs)


EXAMPLES = Path(__file__).parent / "configs"  # the example configs, read as configs/NAME.yaml from any folder
MAX_CONFIG_VALUES = 100_000  # a config file's values, its aliases expanded


def load_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON config file into a dict."""
    path = Path(path).expanduser()
    shipped = EXAMPLES / path.name if path.parent == Path("configs") else None
    if not path.is_file() and shipped is not None and shipped.is_file():  # README's configs/NAME.yaml, from any
        if path.parent.is_dir():  # folder and from a wheel (a packaging hunt: not shipped, the docs' commands failed)
            warn(f"{path} is not there; aekit's example of that name is read ({shipped})")
        path = shipped
    if not path.is_file():
        examples = f"; aekit's examples: {', '.join(sorted(f.stem for f in EXAMPLES.glob('*.yaml')))}" * (
            shipped is not None)
        raise ConfigError(f"config file {path} does not exist{examples}")
    if path.suffix.lower() in (".toml", ".ini", ".cfg"):  # (read as YAML, it failed at its first [section] line)
        raise ConfigError(f"config file {path}: aekit reads YAML or JSON config files, not {path.suffix[1:].upper()}; "
                          "write it as YAML (as configs/ holds)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # (a byte-order mark, as some editors write, is not text)
    except UnicodeDecodeError as err:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # (a config trial: what Windows PowerShell 5's `>` writes)
            raise ConfigError(f"config file {path} is UTF-16 text; aekit reads UTF-8: save it as UTF-8") from None
        if b"\0" not in raw:  # text in another encoding (Latin-1's café): "not text" sent it to data.name
            line = raw[: err.start].count(b"\n") + 1
            raise ConfigError(f"config file {path} is not UTF-8 (byte 0x{raw[err.start]:02x} on line {line}); aekit "
                              "reads UTF-8: save it as UTF-8") from None
        raise ConfigError(f"config file {path} is not text (YAML or JSON); a data file goes in data.name={path}") from None
    json_file = path.suffix.lower() == ".json"
    try:
        try:
            data = json.loads(text, object_pairs_hook=_unique_keys) if json_file else yaml.load(text, _UniqueKeyLoader)
        except yaml.YAMLError as not_yaml:  # JSON indented with tabs, in a file not named .json (a config trial)
            if not text.lstrip().startswith("{"):
                raise
            try:
                data = json.loads(text, object_pairs_hook=_unique_keys)
            except json.JSONDecodeError:
                raise not_yaml from None  # (YAML's own error is said below)
    except ConfigError as err:
        raise ConfigError(f"config file {path}: {err}") from None
    except RecursionError:  # (a files trial: 5,000 nested brackets were "unexpected")
        raise ConfigError(f"config file {path} nests too deep to read") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"config file {path} is not valid JSON: line {err.lineno}, column {err.colno}: {err.msg}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"config file {path} is not valid YAML: {where}{problem}") from None
    if data is None:
        raise ConfigError(f"config file {path} is empty; give its keys (see configs/), or leave it out to train the default job")
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    check_size(data, f"config file {path}")
    return data


def safe_yaml(text: str, what: str) -> Any:
    """YAML `text` (of `what`, a file) as Python's values, refused in one line where it nests too deep or its
    aliases expand past MAX_CONFIG_VALUES (check_size); yaml.YAMLError is the caller's to word."""
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise ConfigError(f"{what} nests too deep to read") from None
    check_size(data, what)
    return data


def check_size(data: Any, what: str) -> None:
    """Refuse a YAML file's `data` of over MAX_CONFIG_VALUES values once its aliases are expanded: they are parsed
    shared and cheap, and expanded when a message or a copy reads them (a files trial: 1.5 KB of them took 6 GB)."""
    stack, values = [data], 0
    while stack and values <= MAX_CONFIG_VALUES:
        item, values = stack.pop(), values + 1
        stack.extend(item.values() if isinstance(item, dict) else item if isinstance(item, list) else ())
    if values > MAX_CONFIG_VALUES:
        raise ConfigError(f"{what} holds over {MAX_CONFIG_VALUES:,} values once its YAML aliases (*name) are "
                          "expanded; a config holds far fewer")


def apply_overrides(config: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `a.b.c=value` overrides (values parsed as YAML) to a nested dict, in place. A key given twice is refused,
    as in a file, and so is a section given after one of its keys (a CLI trial: the last won, without a word)."""
    keys = [item.partition("=")[0].strip() for item in overrides]
    for i, key in enumerate(keys):
        j = next((j for j, k in enumerate(keys[:i]) if k == key or k.startswith(key + ".")), None)
        if j is not None and keys[j] == key:
            raise ConfigError(f"override {key!r} is given twice ({overrides[j]!r}, {overrides[i]!r}); keep one")
        if j is not None:
            raise ConfigError(f"override {overrides[i]!r} replaces the whole {key} section, and {overrides[j]!r} before "
                              "it would be lost; give the key after the section")
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()  # 'train.epochs = 3' (a config trial: "unknown key 'epochs '")
        if not sep or not key or any(not part for part in key.split(".")):
            missing = f" (or a config file: {item} does not exist)" if not sep else ""
            raise ConfigError(f"override {item!r} must look like section.key=value{missing}")
        try:
            value = yaml.load(raw, _UniqueKeyLoader) if raw != "" else None  # (YAML's octal marked, as in a file)
        except ConfigError as err:  # (a key given twice inside a value)
            raise ConfigError(f"override {item!r}: {str(err).removeprefix('line 1: ')}") from None
        except yaml.YAMLError:
            raise ConfigError(
                f"override {item!r}: the value is not valid YAML; quote the whole override when it holds "
                "spaces, e.g. 'model.hidden=[64, 32]'"
            ) from None
        # a comment cut a name short (a paths trial: 'output.name=run #3' trained into runs/run); one after a list or
        # a number cuts nothing of it
        if re.search(r"(^|\s)#", raw) and (value is None or isinstance(value, str) and "#" not in value):
            raise ConfigError(f"override {item!r}: a '#' at the start or after a space begins a YAML comment, which "
                              f"cut the value to {value!r}; quote the value inside it: {key}=\"{raw.strip()}\"")
        node = config
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if child is None:  # a section with its keys commented out (a config trial: "'train' is not a section")
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: '{part}' is not a section")
            node = child
        node[parts[-1]] = value
    return config
