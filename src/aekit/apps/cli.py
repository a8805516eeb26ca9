"""The `aekit` command. Every error aekit raises on purpose is printed as one line, exit status 2;
anything else is one line too, exit status 1, with the traceback behind `--debug` or AEKIT_DEBUG=1.

Nothing here imports torch at start: `aekit --version` and the listings stay fast.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import functools
import glob
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from .. import __version__, _interrupted_at_start
from ..errors import AekitError, ConfigError, debugging, out_of_space, shell, wraps_interrupt


def _launched_distributed(args, argv: list[str], cfg=None, run_dir: str | None = None) -> int | None:
    """`--distributed` outside torchrun: start the processes (each runs `aekit ARGV`), wait, and return
    the exit status; None to run here. `cfg`, the run's config, is checked against them first; `run_dir`,
    the run resumed, is named if they fail."""
    if args.nproc is not None and not args.distributed:
        raise ConfigError(f"--nproc {args.nproc}: only with --distributed (the number of processes it starts)")
    from ..training import distributed

    if not args.distributed or distributed.launched():
        return None
    n = distributed.processes(args.nproc)
    if cfg is not None:
        from ..training.loop import resolve_device

        distributed.check_batch(cfg.train.batch_size, n)
        distributed.check_gpus(n, resolve_device(cfg.train.device))
    before = os.environ.get(NOTED_VARIABLE)
    os.environ[NOTED_VARIABLE] = "\n".join(_NOTED)  # said here (this command): the processes do not say it again
    try:
        return distributed.launch([*argv, *(["--quiet"] if args.quiet else [])], n, run_dir=run_dir)
    finally:
        if before is None:
            os.environ.pop(NOTED_VARIABLE)
        else:
            os.environ[NOTED_VARIABLE] = before


def _config_word(word: str, *, any_file: bool = True) -> bool:
    """Whether `word` names a config file: a .yaml/.yml/.json path, or (`any_file`) a file there without '=', where
    the part before any '=' is no setting's key (a sweep's folder: runs/lr=0.01/config.yaml, which a config trial
    saw read as a key)."""
    key, sep, _ = word.partition("=")
    config = Path(word).suffix.lower() in CONFIG_SUFFIXES
    if sep and re.fullmatch(r"\s*[A-Za-z_][\w.]*\s*", key):  # an override, but a config file there (lr=0.01/c.yaml)
        return config and _is(word, "file")
    return config or any_file and not sep and _is(word, "file")


def _is(word: str, kind: str) -> bool:
    """Path(word).is_file() or .is_dir(), False for a word no path can be (too long, a NUL in it: a review)."""
    try:
        return getattr(Path(word), f"is_{kind}")()
    except (OSError, ValueError):
        return False


def _config_and_overrides(words: list[str]) -> tuple[str | None, list[str]]:
    """`[CONFIG] [KEY=VALUE ...]` in any order: the config is the word that names a file or a .yaml/.json path
    (_config_word); any other word is an override (and refused if it has no '=')."""
    for w in words:
        if "=" not in w and _is(w, "dir"):
            raise ConfigError(f"{w} is a folder; give a config file (.yaml or .json), e.g. a run's {w}/config.yaml")
        if w != w.strip() and "=" not in w and _is(w.strip(), "file"):  # (a config trial: a script with CRLF ends)
            raise ConfigError(f"{w!r} ends in {'a carriage return' if w.endswith(chr(13)) else 'a space'}, and "
                              f"{w.strip()} is the file there: a script saved with Windows line ends passes one; save it "
                              "with Unix ones")
        if "=" not in w and Path(w).suffix == ".safetensors":  # a run's weights (a CLI trial: "a data file goes in ...")
            run = Path(w).parent
            if not (run / "config.yaml").is_file():
                raise ConfigError(f"{w} is a model's weights, not a config; give a config file (.yaml or .json)")
            raise ConfigError(f"{w} is a model's weights, not a config; `aekit resume {shell(run)}` continues its run, and "
                              f"`aekit train {shell(run / 'config.yaml')}` trains its settings again")
    configs = [w for w in words if _config_word(w)]
    if len(configs) > 1:
        raise ConfigError(f"only one config file is taken, got {', '.join(configs)}; "
                          "change its keys with overrides such as train.epochs=5")
    config = configs[0] if configs else None
    return config, [w for w in words if w is not config]


CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


def _epochs_or_budget(cfg, overrides: list[str]):
    """`cfg`, unless train.epochs is given with a time budget, which would silently replace it."""
    from .run import epochs_given

    if cfg.train.time_budget is not None and epochs_given(overrides):
        raise ConfigError(f"train.epochs: this run has train.time_budget={cfg.train.time_budget:g}, which decides "
                          "how long it trains; add train.time_budget=null to train by epochs")
    return cfg


def _cmd_train(args) -> int | None:
    from . import run

    config, overrides = _config_and_overrides(args.words)
    cfg = _epochs_or_budget(run.load_run_config(config, overrides), overrides)  # refused here, before any process starts
    run.check_autoencoder(cfg)
    named = str(Path(cfg.output.dir) / cfg.output.name) if cfg.output.name else None  # (a default name is rank 0's)
    code = _launched_distributed(args, ["train", *([config] if config else []), *overrides], cfg, named)
    if code is not None:
        return code
    run_dir = run.train(cfg, progress=False if args.quiet else None, label=run.config_label(config))
    _print_result(run_dir)


def _import_own(args) -> None:
    """The files of one's own given by --imports, imported (and so trusted) before the folder that names them is read:
    the way through where aekit's cache cannot record them (a locked-down trial: a read-only home)."""
    if getattr(args, "imports", None):
        from ..registry import import_models

        import_models(args.imports)


def _cmd_resume(args) -> int | None:
    from . import run

    _import_own(args)
    longer = [*(["--epochs", str(args.epochs)] if args.epochs is not None else []),
              *(["--time-budget", repr(args.time_budget)] if args.time_budget is not None else []),
              *(f"--imports={item}" for item in args.imports or ())]
    cfg = run.read_run(args.run_dir) if args.distributed else None  # to check before launching; resume reads it
    code = _launched_distributed(args, ["resume", args.run_dir, *longer], cfg, args.run_dir)
    if code is not None:
        return code
    run_dir = run.resume(args.run_dir, epochs=args.epochs, time_budget=args.time_budget,
                         progress=False if args.quiet else None)
    _print_result(run_dir)


def _cmd_evaluate(args) -> None:
    for flag, value in (("--nll-samples", args.nll_samples), ("--quality-samples", args.quality_samples)):
        if value < 0:
            raise ConfigError(f"{flag}: must be >= 0 (0 skips it), got {value}")
    for flag, value in (("--classifier", args.classifier), ("--classifier-cache", args.classifier_cache)):
        if value is not None and args.quality_samples == 0:  # (a bug hunt: taken, unsaid)
            raise ConfigError(f"{flag}: sets how sample quality is judged, and --quality-samples 0 skips it; leave "
                              f"{flag} out, or give --quality-samples N")
    _import_own(args)  # a data set of one's own for --data (an own-data-set hunt), or the run's own model
    from . import run

    metrics = run.evaluate_run(
        args.run_dir, nll_samples=args.nll_samples, quality_samples=args.quality_samples,
        classifier=args.classifier, classifier_cache=args.classifier_cache, progress=not args.quiet, data=args.data,
        scores=args.scores, codes=args.codes,
    )
    print(run.format_metrics(metrics))
    if args.scores:
        units = {"per column": " in the model's units (each column scaled to [0, 1], scaling.json)",
                 "one range": " in the model's units (the file's values scaled to [0, 1], scaling.json)",
                 "standard": " in the model's units (standardised, scaling.json)"}.get(metrics.get("scaling"), "")
        print(f"wrote {args.scores} (each sample's squared error{units}, beside PCA's where it applies"
              f"{', and its code' * args.codes})")


def _print_result(run_dir: Path) -> None:
    from ..training import distributed
    from ..training.checkpoint import METRICS_FILE
    from . import run

    is_main = distributed.is_main()
    distributed.shutdown()  # the run is over: leave the process group (a no-op outside torchrun)
    if not is_main:  # rank 0 alone evaluated the run and reports it
        return

    metrics = json.loads((run_dir / METRICS_FILE).read_text(encoding="utf-8"))
    print(run.format_metrics(metrics))
    print(f"run folder: {run_dir}")


def _cmd_demo(args) -> None:
    from ..config import apply_overrides
    from . import run

    given = {o.partition("=")[0].strip(): o for o in args.overrides}
    user = apply_overrides({}, list(args.overrides))  # what the user's overrides set ('train={epochs: 3}' too: a review)
    for key, flag, value in (("output.dir", "--out", args.out), ("train.epochs", "--epochs", args.epochs)):
        section, leaf = key.split(".")
        if value is not None and isinstance(user.get(section), dict) and leaf in user[section]:  # (a CLI trial: the
            raise ConfigError(f"{flag} and {given.get(key) or given[section]!r} both set {key}; keep one")  # override won)
    default_out = args.out is None and not {"output.dir", "output"} & set(given)
    flags = [*([f"output.dir={args.out}"] if args.out is not None else ["output.dir=runs"] * default_out),
             *([f"train.epochs={args.epochs}"] if args.epochs is not None else [])]
    overrides = [*args.overrides, *flags]  # after the user's: a section given whole takes the flag's key beside it
    raw = apply_overrides({k: dict(v) for k, v in run.DEMO_CONFIG.items()}, overrides)
    start = time.perf_counter()
    try:
        run_dir = run.train(_epochs_or_budget(run.parse_run_config(raw), overrides), progress=False if args.quiet else None)
    except ConfigError as err:  # the flag the user gave, not the key it sets (a CLI hunt: --epochs 0's line too)
        key, flag = next(((k, f) for k, f, v in (("output.dir", "--out", args.out), ("train.epochs", "--epochs", args.epochs))
                          if v is not None and str(err).startswith(f"{k}: ")), (None, None))
        if key is None:
            raise
        raise ConfigError(f"{flag}: {str(err).removeprefix(f'{key}: ').replace(f'another {key}', f'another {flag}')}"
                          ) from None
    print(f"trained in {time.perf_counter() - start:.0f}s")
    _print_result(run_dir)
    print(f"picture: {run_dir / 'reconstructions.png'}")


def _print_table(summaries: dict[str, str]) -> None:
    width = max(map(len, summaries), default=0)
    for name in sorted(summaries):
        print(f"{name:<{width}}  {summaries[name]}")


def _yaml_value(value) -> str:
    """A default as it is written in a config file: [1000, 500, 250], null, true, relu."""
    import yaml

    plain = list(value) if isinstance(value, tuple) else value
    return yaml.safe_dump(plain, default_flow_style=True, width=1000).strip().removesuffix("...").strip()


def _key_notes(cls: type) -> dict[str, str]:
    """Each config key's comment where its class's source gives it (`key: type = default  # what it is`), a
    subclass's over its base's: what `aekit models NAME` prints beside the key."""
    import inspect

    notes: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        with contextlib.suppress(OSError, TypeError):
            above: list[str] = []  # a comment block above keys, for each key of the run below it without a comment of
            keys = False  # its own (a settings hunt: those keys had no meaning); whether the last line was a key
            for line in inspect.getsource(klass).splitlines():
                if line.strip().startswith("#"):
                    above, keys = ([] if keys else above) + [line.strip().lstrip("#:").strip()], False
                    continue
                found = re.match(r"\s+(\w+): [^#]+?(?:#\s*(.+))?$", line)
                note = found and (found.group(2) or " ".join(above))
                if note:
                    notes[found.group(1)] = re.sub(r"\bNone\b", "null", note.strip())  # YAML's word
                above, keys = (above, True) if found else ([], False)
    return notes


def _cmd_models(args) -> None:
    if args.imports:  # a model file of one's own, as export's --imports (refused before any listing)
        from ..registry import import_models

        import_models(args.imports)
    if not args.name:
        from ..catalog import MODELS, OTHER_MODELS

        _print_table(MODELS)
        for kind, models in OTHER_MODELS.items():
            print(f"\n{kind} (trained on labels: the experiments and the scikit-learn estimators)")
            _print_table(models)
        print("\nauto: what `aekit train` uses when no model is named: a dense model sized from the data, "
              "started at PCA's solution (README: Your data against PCA)")
        if args.imports:  # (a review: the listing left a file's own models out, without a word)
            from ..registry import list_models, model_entry

            own = {m: model_entry(m).summary for m in list_models() if m not in MODELS}
            print(f"\nyour own ({', '.join(args.imports)})")
            _print_table(own or {"(none)": "the files register no autoencoder"})
        return
    import dataclasses

    from ..registry import model_entry
    from .run import AUTO, AUTO_MODEL

    if args.name == AUTO:
        print(f"{AUTO}: {AUTO_MODEL} sized from the data and started at PCA's solution (README: Your data against "
              f"PCA); the keys of {AUTO_MODEL} below may be given, the rest are chosen")
    entry = model_entry(AUTO_MODEL if args.name == AUTO else args.name)
    if args.name != AUTO:
        print(f"{entry.name}: {entry.summary}")
    chosen = {  # what auto sets (run.auto_model); the other keys keep dense's defaults
        "hidden": "chosen from the data (about half the input, 256 to 1024, then half that)",
        "code_size": "chosen from the data (32; half the features for fewer than 64; at most the samples)",
        "activation": "elu", "output_activation": "linear", "recon_loss": "mse",
        "dropout": "0.1 where the hidden layers' weights pass a quarter of the training values (samples x features), else 0",
        "linear_path": "true (false where the code or the output cannot start at PCA's solution)",
    } if args.name == AUTO else {}
    notes = _key_notes(entry.cls.Config)
    for f in dataclasses.fields(entry.cls.Config):
        if f.name in chosen:
            default = chosen[f.name]
        elif f.name == "input_shape":
            default = "required (set from the data)"
        elif f.default is not dataclasses.MISSING:
            default = _yaml_value(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = _yaml_value(f.default_factory())
        else:  # e.g. n_classes of a classifier, set from the labels
            default = "required"
        print(f"  {f.name}: {default}" + (f"  # {notes[f.name]}" if f.name in notes else ""))


def _cmd_datasets(args) -> None:
    from ..catalog import DATASETS, data_dir, data_state

    if args.imports:  # a data set of one's own (an extension trial: models took --imports, datasets did not)
        from ..registry import import_models

        import_models(args.imports)
    _print_table({name: f"{data_state(name):<8} {summary}" for name, summary in DATASETS.items()})
    print(f"\ndata directory: {data_dir()} (set AEKIT_DATA_DIR to change it); 'here': its folder there holds "
          "files, 'shipped': inside aekit, 'absent': downloaded on first use (bbc-news is put there by hand; "
          "offline, the error says what to put where)")
    if args.imports:
        from ..data.datasets import dataset_entry, list_datasets

        own = {name: dataset_entry(name).summary or "(no summary)" for name in list_datasets() if name not in DATASETS}
        print(f"\nyour own ({', '.join(args.imports)})")
        _print_table(own or {"(none)": "the files register no data set"})


def _cmd_export(args) -> None:
    from ..config import load_file
    from ..data.core import read_unit_map
    from ..training import checkpoint as ckpt
    from . import run
    from .export import SUFFIXES, export_model, signature

    suffix = SUFFIXES[args.format]
    source = Path(args.run_dir)
    folder = source.parent if source.is_file() else source  # a model file: write beside it, named after it
    stem = f"{source.stem}-" if source.is_file() and source.stem.startswith("model-") else ""
    out = args.output if args.output else folder / f"{stem}{args.part}{'-raw' * args.raw}{suffix}"
    _import_own(args)  # a model file's model of one's own (a run folder names its imports itself)
    if (folder / run.CONFIG_FILE).is_file() and any((folder / f).is_file() for f in (ckpt.MODEL_FILE,
                                                                                   ckpt.CHECKPOINT_FILE)):
        run.read_run(folder)  # a run's or an experiment's folder: the models of your own it imports
    elif (folder / "experiment.yaml").is_file():
        run.folder_imports(folder, (load_file(folder / "experiment.yaml").get("settings") or {}).get("imports"))
    path = export_model(args.run_dir, out, format=args.format, part=args.part, raw=args.raw)
    with warnings.catch_warnings():  # its notes were said as the export loaded the same folder (a bug hunt: twice)
        warnings.simplefilter("ignore")
        io = signature(args.run_dir, args.part, args.raw)
    if args.raw:
        held = "as the run's data file stores them"
        ends = {"encoder": f"samples in, {held}; codes out", "decoder": f"codes in; samples out, {held}"}
        print(f"wrote {path}: {io} ({ends.get(args.part, f'samples in and out {held}')})")
    elif "offset" in (read_unit_map(folder) or {}):  # a data file's map (a text run's vocabulary: no --raw)
        takes = {"encoder": "takes", "decoder": "gives"}.get(args.part, "takes and gives")  # (a bug hunt: a decoder
        print(f"wrote {path}: {io} ({takes} samples in [0, 1], scaled as in training; --raw: as the data file "  # was
              "stores them)")  # said to take samples)
    else:
        print(f"wrote {path}: {io}")


def _cmd_experiment(args) -> None:
    if args.action == "list":
        from ..catalog import EXPERIMENTS

        if args.words or args.tiny or args.out is not None:
            raise ConfigError(f"experiment list takes nothing more, got {' '.join(args.words) or '--tiny/--out'}; "
                              "`aekit experiment show NAME` prints one experiment's settings")
        _print_table(EXPERIMENTS)
        return
    if args.action == "resume" and (len(args.words) != 1 or args.tiny or args.out is not None):
        raise ConfigError("experiment resume: give the experiment's run folder alone; it continues in that folder "
                          "with the settings it was started with")
    files = [w for w in args.words if _config_word(w, any_file=False) and args.action != "resume"]
    if len(files) > 1:
        raise ConfigError(f"only one config file is taken, got {', '.join(files)}; change its keys with overrides")
    file, words = (files or [None])[0], [w for w in args.words if w not in files]
    names = [w for w in words if "=" not in w or args.action == "resume"]
    overrides = [w for w in words if w not in names]
    if len(names) != 1:
        got = f"; got {', '.join(names)}" if names else ""
        dotted = [n for n in names[1:] if "." in n and not Path(n).exists()]  # train.epochs without its =VALUE
        if dotted:
            raise ConfigError(f"experiment {args.action}: {dotted[0]} needs a value: {dotted[0]}=VALUE (a setting is "
                              "KEY=VALUE, such as train.epochs=5)")
        raise ConfigError(f"experiment {args.action}: give one experiment name (see `aekit experiment list`){got}")
    from .experiments import resume_experiment, run_experiment, settings

    _import_own(args)

    if args.action == "show":
        import yaml

        from ..config import to_dict

        print(yaml.safe_dump(to_dict(settings(names[0], overrides, tiny=args.tiny, file=file)), sort_keys=False).rstrip())
        return
    quiet = open(os.devnull, "w") if args.quiet else contextlib.nullcontext()  # noqa: SIM115
    with quiet as sink, contextlib.redirect_stdout(sink or sys.stdout):  # --quiet: the headline alone
        if args.action == "resume":  # each training's epoch lines (a bar on a terminal), unless --quiet
            run_dir, results = resume_experiment(names[0], progress=not args.quiet)
        else:
            run_dir, results = run_experiment(names[0], overrides, out_dir=args.out or "runs", tiny=args.tiny, file=file,
                                              progress=not args.quiet)
    headline = results.get("summary") if isinstance(results, dict) else None
    if headline:
        print(headline)
    print(f"run folder: {run_dir}")


def _cmd_report(args) -> None:
    from .report import CONFIG_FILES, GENERATOR, read_run_folder, write_report

    _import_own(args)
    dirs = []
    for d in args.run_dirs:  # a pattern no shell expanded (Windows' cmd and PowerShell pass runs/* on: a review)
        matched = sorted(glob.glob(d)) if glob.has_magic(d) and not Path(d).exists() else []
        dirs += [Path(p) for p in matched or [d]]
    runs = [d for d in dirs if any((d / f).is_file() for f in CONFIG_FILES)]
    for d in dirs:  # refused before the line below: a missing path, and, of one path (or none a run's), what is no run
        if not d.exists() or (len(dirs) == 1 or not runs) and d not in runs:  # folder; of several (a glob over runs/),
            read_run_folder(d)  # the others are left out and named (write_report)
    output = Path(args.output) if args.output else (dirs[0] / "report.html" if len(dirs) == 1 else Path("report.html"))
    head = output.read_text(errors="replace")[:2000] if output.is_file() else None
    legacy = head is not None and ("<title>aekit report</title>" in head or (  # pages before GENERATOR (2026-12-04):
        "<title>aekit experiment: " in head and (output.parent / "experiment.yaml").is_file()))  # an experiment's own too
    if head is not None and GENERATOR not in head and not legacy:  # not a page aekit wrote (an old-folders hunt: an
        # experiment's page of 2026-12-02 was refused, as a user's)
        other = "another --output FILE.html (or remove it)" if args.output else "--output FILE.html for the report"
        raise ConfigError(f"report: {output} is there and aekit did not write it; give {other}")
    # a run's latent map reads its data again and encodes it: seconds to a minute before the line below
    maps = " (and each trained run's data, for its latent map)" * any((d / "config.yaml").is_file() for d in dirs)
    from ..writing import check_writable

    check_writable(output)  # a read-only or full disk: said before the work (a bug hunt)
    if not args.quiet:
        print(f"reading {len(runs)} run folder{'s' * (len(runs) != 1)}{maps}", flush=True)
    print(f"wrote {write_report(dirs, output, title=args.title)}")


def _distributed_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel over --nproc local processes (as torchrun --nproc_per_node=N -m aekit ...)")
    p.add_argument("--nproc", type=int, default=None, help="processes for --distributed (default: GPUs, else 2)")


class _Parser(argparse.ArgumentParser):
    """argparse whose mistakes are one line like every other error (its subcommands' parsers too)."""

    def error(self, message: str, *, prog: str | None = None):
        prog = prog or self.prog
        command = prog.removeprefix("aekit").strip()
        self.exit(2, f"aekit: error: {command + ': ' if command else ''}{message} (`{prog} --help` says more)\n")

    def _print_message(self, message: str, file=None) -> None:
        """--help and --version on stdout, whose failed write argparse dropped (`aekit --help > /dev/full` exited 0):
        raised, so the command says it; one to stderr, where nothing could say it, is dropped as before."""
        if message and file is sys.stdout:
            sys.stdout.write(message)
            sys.stdout.flush()
        else:
            super()._print_message(message, file)


QUIET = "no progress (the start line, epoch lines, bars): the results and the run folder only"
FOLDER_IMPORTS = ("a .py file (or module) of your own that a run folder's imports name, imported first: where aekit's "
                  "cache cannot record it as yours; repeatable")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="aekit", description="Build, train, inspect and apply autoencoders.",
        epilog="Flags and KEY=VALUE overrides may come in any order. --debug (or AEKIT_DEBUG=1) shows "
               "the traceback of an unexpected error.",
    )
    parser.add_argument("--version", action="version", version=f"aekit {__version__}")
    debug = "--debug (or AEKIT_DEBUG=1) shows the traceback of an unexpected error."
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=functools.partial(_Parser, epilog=debug))  # every command's --help

    # `words` takes every word that is not a flag, wherever it comes (main() gathers the ones
    # argparse leaves over after a flag)
    p = sub.add_parser("train", help="train a model from a YAML/JSON config and/or dotted overrides")
    p.add_argument("words", nargs="*", metavar="[CONFIG] [KEY=VALUE ...]",
                   help="a config file (see configs/) and dotted overrides such as model.code_size=2 train.epochs=5; "
                        "with neither, the defaults: the automatic model on the bundled mnist-mini for 10 epochs (the "
                        "run's config.yaml records every key)")
    p.add_argument("--quiet", action="store_true", help=QUIET)
    _distributed_flags(p)
    p.set_defaults(func=_cmd_train, words_dest="words")

    p = sub.add_parser("resume", help="continue an interrupted run from its last checkpoint")
    p.add_argument("run_dir", type=os.path.expanduser, help="the run folder `aekit train` made")
    p.add_argument("--epochs", type=int, default=None, help="train up to this many epochs in total")
    p.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                   help="a run with a time budget: train up to this many seconds in total")
    p.add_argument("--imports", action="append", type=os.path.expanduser, metavar="FILE.py", help=FOLDER_IMPORTS)
    p.add_argument("--quiet", action="store_true", help=QUIET)
    _distributed_flags(p)
    p.set_defaults(func=_cmd_resume)

    # the defaults are run.NLL_SAMPLES, QUALITY_SAMPLES and FEATURE_CLASSIFIER (not imported: torch)
    p = sub.add_parser("evaluate", help="test metrics of a run next to PCA's, its test NLL and sample quality")
    p.add_argument("run_dir", type=os.path.expanduser, help="the run folder `aekit train` made")
    p.add_argument("--imports", action="append", type=os.path.expanduser, metavar="FILE.py",
                   help="a .py file (or module) of your own: a data set for --data, or one the run folder's imports "
                        "name (imported first: where aekit's cache cannot record it as yours); repeatable")
    p.add_argument("--data", default=None, metavar="FILE",
                   help="evaluate on this file (scaled as the run's data were) or named data set's test part, in "
                        "place of the run's test part; writes nothing into the run folder")
    p.add_argument("--scores", type=os.path.expanduser, default=None, metavar="FILE.csv",
                   help="write each evaluated sample's squared error (and PCA's, but for memory-mapped data) to this "
                        "CSV, one row per sample: scores to rank anomalies by")
    p.add_argument("--codes", action="store_true",
                   help="with --scores: each sample's code too, in columns code_0, code_1, ... (for a system downstream)")
    p.add_argument("--nll-samples", type=int, default=5000, metavar="K",
                   help="importance samples per test input for the test NLL of models with a probabilistic "
                        "decoder (default 5000, as Burda et al.; up to ~30 minutes on a CPU for 10,000 inputs; 0 skips it)")
    p.add_argument("--quality-samples", type=int, default=10_000, metavar="N",
                   help="generated images, against as many test images, for Fréchet distance, precision and "
                        "recall on MNIST-like data (default 10000; 0 skips them)")
    p.add_argument("--classifier", default=None, metavar="DATA",
                   help="the data set the feature classifier for sample quality is trained on, once: mnist, "
                        "mnist-mini (no download), fashion-mnist or kmnist (default: the run's data set where it is "
                        "one of them, else mnist)")
    p.add_argument("--classifier-cache", default=None, metavar="DIR",
                   help="where that classifier is cached (default: the system's cache folder, ~/.cache/aekit/"
                        "classifiers on Linux)")
    p.add_argument("--quiet", action="store_true", help="no progress (the NLL's and reading's bars): the results alone")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("demo", help="train the deep MNIST autoencoder on the bundled digits (1-2 minutes on 2 idle cores)")
    p.add_argument("overrides", nargs="*", help="dotted overrides, e.g. train.epochs=5")
    p.add_argument("--out", type=os.path.expanduser, default=None, help="parent folder of the run folder (default: runs)")
    p.add_argument("--epochs", type=int, default=None, help="epochs to train (default 30; as train.epochs=N)")
    p.add_argument("--quiet", action="store_true", help=QUIET)
    p.set_defaults(func=_cmd_demo, words_dest="overrides")

    p = sub.add_parser("models", help="list the models, or the keys of one")
    p.add_argument("name", nargs="?", help="a model (dense, vae, auto, ...): its keys, defaults and meanings")
    p.add_argument("--imports", action="append", type=os.path.expanduser, metavar="FILE.py",
                   help="a .py file (or module) that registers a model of your own; repeatable")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("export", help="export a trained model to ONNX or TorchScript")
    p.add_argument("run_dir", type=os.path.expanduser, help="run folder, or a model/checkpoint .safetensors file")
    p.add_argument("--format", choices=["onnx", "torchscript"], default="onnx", help="file format (default: onnx)")
    p.add_argument("--part", choices=["encoder", "decoder", "full"], default="encoder",
                   help="what to export: x -> code, code -> x or x -> x (default: encoder)")
    p.add_argument("-o", "--output", type=os.path.expanduser, default=None, help="file to write (default: <part>.onnx or .pt in the run folder or beside the file)")
    p.add_argument("--imports", action="append", type=os.path.expanduser, metavar="FILE.py",
                   help="a .py file (or module) that registers the file's model of your own; repeatable")
    p.add_argument("--raw", action="store_true",
                   help="samples (in, out or both, by --part) as the run's data file stores them (its scaling.json folded in)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("experiment", help="the classic experiments: list, show NAME, run NAME, resume RUN_DIR")
    p.add_argument("action", choices=["list", "show", "run", "resume"])
    p.add_argument("words", nargs="*", metavar="[NAME] [FILE.yaml] [KEY=VALUE ...]",
                   help="the experiment, a config file of its sections (as show prints them, or a run's experiment.yaml) "
                        "and settings such as train.epochs=5; for resume, its run folder")
    p.add_argument("--tiny", action="store_true", help="a tiny budget that runs in seconds (for tests)")
    p.add_argument("--imports", action="append", type=os.path.expanduser, metavar="FILE.py", help=FOLDER_IMPORTS)
    p.add_argument("--out", type=os.path.expanduser, default=None, help="parent folder of the run folder (default: runs)")
    p.add_argument("--quiet", action="store_true", help="print the headline and the run folder only")
    p.set_defaults(func=_cmd_experiment, words_dest="words")

    p = sub.add_parser("report", help="one self-contained HTML page about run folders (pictures, tables, curves)")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", type=os.path.expanduser, help="run folders of aekit train or aekit experiment run")
    p.add_argument("-o", "--output", type=os.path.expanduser, default=None, help="HTML file to write (default: RUN_DIR/report.html for one run, else ./report.html)")
    p.add_argument("--title", default=None, help="the page's title (default: 'aekit report: RUN', or how many runs)")
    p.add_argument("--imports", action="append", type=os.path.expanduser, metavar="FILE.py", help=FOLDER_IMPORTS)
    p.add_argument("--quiet", action="store_true", help="no progress line: the file written alone")
    p.set_defaults(func=_cmd_report, words_dest="run_dirs")

    p = sub.add_parser("datasets", help="list the data sets")
    p.add_argument("--imports", action="append", type=os.path.expanduser, metavar="FILE.py",
                   help="a .py file (or module) that registers a data set of your own; repeatable")
    p.set_defaults(func=_cmd_datasets)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """argparse, with words after a flag (`train c.yaml --quiet x=1`) joined to the command's words."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    commands = next(a for a in parser._actions if a.dest == "command").choices
    first = next((w for w in words if w not in ("-h", "--help", "--version")), None)
    if first is not None and first not in commands:  # (a CLI trial: --versoin read "required: COMMAND", trian no guess)
        from ..config import nearest

        options = ["--help", "--version"] if first.startswith("-") else list(commands)
        what = "option" if first.startswith("-") else "command"
        parser.error(f"unknown {what} {first!r}{nearest(first, options)}; give a command: {', '.join(commands)}")
    args, extra = parser.parse_known_args(argv)
    dest = getattr(args, "words_dest", None)
    flags = [e for e in extra if e.startswith("-")]
    if flags or (extra and dest is None):
        hint = "; a run resumes with its own config (--epochs N or --time-budget SECONDS trains it longer)" if args.command == "resume" else (
            _setting_hint(flags[0]) if flags and dest is not None else "")
        parser.error(f"unrecognized arguments: {' '.join(flags or extra)}{hint}", prog=f"aekit {args.command}")
    if extra:
        setattr(args, dest, [*getattr(args, dest), *extra])
    return args


def _setting_hint(flag: str) -> str:
    """A flag that is a setting or a config written as options elsewhere take them (a config trial: --train.epochs=3,
    --epochs 3, --config f.yaml had "unrecognized arguments" alone)."""
    from ..config import keys_of
    from ..training.loop import TrainConfig
    from .run import DataConfig

    name = flag.lstrip("-").partition("=")[0]
    if name == "config":
        return "; give the config file as a word of its own: aekit train FILE.yaml KEY=VALUE ..."
    section = "." in name and name or next((f"{s}.{name}" for s, c in (("train", TrainConfig), ("data", DataConfig))
                                            if name.replace("-", "_") in keys_of(c)), "")
    return f"; a setting is a word KEY=VALUE without dashes, such as {section.replace('-', '_')}=..." if section else ""


# what to do about an OSError on a path, by its errno; none for the rest (an I/O error, a full pipe, ...)
PATH_HINTS = {
    **dict.fromkeys((errno.EISDIR, errno.ENOENT, errno.ENAMETOOLONG), "; choose another path"),
    **dict.fromkeys((errno.ENOTDIR, errno.EEXIST), " (a file is where a folder is needed); choose another path"),
    # a read or a write, which the error does not say (a data file one may not read was told to be written)
    **dict.fromkeys((errno.EACCES, errno.EPERM), "; check its permissions, or choose another path"),
    errno.EROFS: "; choose a path you may write to",
}


def _run_state(run_dir) -> tuple[str, str] | None:
    """(what a stopped run keeps, the command that goes on from it), or None where it keeps nothing."""
    if run_dir is None:  # (before any import: a stop during torch's import has no run to name)
        return None
    from ..training.checkpoint import CHECKPOINT_FILE, MODEL_FILE, checkpoint_place, training_ended

    if training_ended(run_dir):
        return f"its training finished ({Path(run_dir) / MODEL_FILE})", f"`aekit evaluate {shell(run_dir)}` evaluates it"
    if not (Path(run_dir) / CHECKPOINT_FILE).is_file():
        return None
    place = checkpoint_place(run_dir)  # written atomically: never half
    return f"the last checkpoint{f' ({place})' if place else ''} is intact", f"`{resume_command(run_dir)}` continues"


def world_size() -> int:
    """The processes of this run: torchrun's WORLD_SIZE, read here without importing torch."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def resume_command(run_dir) -> str:
    """`aekit resume RUN`, with --distributed --nproc N in a process of a distributed run of N."""
    n = world_size()
    if n > 1 and os.environ.get("LOCAL_WORLD_SIZE", str(n)) != str(n):  # several machines: torchrun on each
        return f"torchrun ... -m aekit resume {shell(run_dir)}"
    return f"aekit resume {shell(run_dir)}" + (f" --distributed --nproc {n}" if n > 1 else "")


def _full(err: OSError) -> str:
    """After a write failed for want of space: what to do, and what is kept."""
    fix = "raise the file size limit (ulimit -f)" if err.errno == errno.EFBIG else "free some space"
    run_dir = getattr(err, "run_dir", None)
    state = _run_state(run_dir)
    if state:
        return f"; {state[0]}: {fix}, then {state[1]}"
    return f"; {fix} and train again" if run_dir else f"; {fix} or choose another path"


def _out_of_memory(err: BaseException) -> bool:
    """numpy's MemoryError, or torch's allocators' errors (CPU and CUDA)."""
    return isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryError" or (
        isinstance(err, RuntimeError) and "DefaultCPUAllocator: can't allocate memory" in str(err)) or (
        isinstance(err, ImportError) and bool(re.search(r"failed to map segment|cannot allocate memory", str(err), re.I)))  # a
    # library loaded late under ulimit -v (a locked-down trial: scikit-learn's, for PCA after training: "unexpected")


def _run_kept(err: BaseException) -> str:
    """After a run stopped on an error (not for want of space: _full): what of it is kept ("" if not a run's)."""
    state = None if out_of_space(err) else _run_state(getattr(err, "run_dir", None))
    return f"; {state[0]}: {state[1]}" if state else ""


def _ours(module: str) -> bool:
    """Whether `module` is one that aekit or one of its extras installs (the modules of their distributions)."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        wanted = {re.split(r"[<>=!~; \[]", r, maxsplit=1)[0].lower() for r in requires("aekit") or []}
    except PackageNotFoundError:  # a source tree run without installation
        return True
    renamed = {"scikit-learn": "sklearn", "pyyaml": "yaml", "pillow": "pil", "mlflow-skinny": "mlflow",
               "umap-learn": "umap"}  # distributions whose module is named otherwise
    return module.lower() in {renamed.get(name, name.replace("-", "_")) for name in wanted}


def _thread_note(hook: threading.ExceptHookArgs) -> None:
    """An error in a thread of a library's (a logger's writer) as one line, as the command's own are."""
    if hook.exc_type is SystemExit or os.environ.get("RANK", "0") != "0":
        return
    name = f"a thread ({hook.thread.name})" if hook.thread is not None else "a thread"
    try:
        reason = (str(hook.exc_value).splitlines() or [""])[0][:200]
    except Exception:  # noqa: BLE001  (an error's own __str__ failing: never a second traceback here)
        reason = ""
    print(f"aekit: note: {name} stopped on {hook.exc_type.__name__}{': ' * bool(reason)}{reason} (--debug shows "
          "where)", file=sys.stderr)


def _closed_folder(name: Any) -> str | None:
    """The first folder on the way to file `name` that the user may not enter, or None."""
    if not isinstance(name, (str, bytes, os.PathLike)):
        return None
    folder = os.path.dirname(os.path.abspath(os.fsdecode(name)))
    for place in reversed([folder, *Path(folder).parents]):
        if not os.path.isdir(place):
            return None
        if not os.access(place, os.X_OK):
            return os.path.relpath(place) if not os.path.isabs(os.fsdecode(name)) else str(place)
    return None


def _error_line(err: Exception) -> tuple[str, int]:
    """The one line the CLI prints for `err` (after "aekit: error: "), and the exit status."""
    if isinstance(err, AekitError):
        return f"{err}{_kept(err)}", 2
    if isinstance(err, ModuleNotFoundError) and _ours((err.name or "").partition(".")[0]):  # a dependency, or an extra
        return (f"the package '{err.name}' is not installed; `pip install aekit` (or `pip install -e .` in a clone) "
                "installs aekit's dependencies"), 2
    if isinstance(err, ModuleNotFoundError):  # a module code of one's own imports (a review: "pip install aekit")
        return f"{err} (a module of your own: beside the file that imports it, or on PYTHONPATH)", 2
    reason = (str(err).splitlines() or [""])[0]
    if _out_of_memory(err):
        return (f"out of memory ({type(err).__name__}{': ' + reason[:120] if reason else ''}); a smaller model, batch "
                f"size or data set needs less{_kept(err)}{_run_kept(err)}"), 2
    if out_of_space(err):
        return f"{f'{err.filename}: ' if err.filename else ''}{err.strerror}{_full(err)}{_kept(err)}", 2
    gone = getattr(err, "run_dir", None)
    if isinstance(err, OSError) and err.errno == errno.ENOENT and gone is not None and not Path(gone).exists():
        return f"the run folder {gone} was removed while it was written ({os.fsdecode(err.filename)}: {err.strerror})", 2  # (a kill
        # trial: "choose another path")
    closed = _closed_folder(err.filename) if isinstance(err, OSError) and err.errno == errno.EACCES else None
    if closed is not None:  # a folder it may not enter (a non-root hunt: "its experiment.yaml: Permission denied", a
        return f"{closed}: the folder cannot be read ({err.strerror}); ask its owner, or copy it where you may", 2  # file
        # that was not there)
    if isinstance(err, OSError) and err.filename is not None:  # a path that cannot be written or read
        return f"{err.filename}: {err.strerror or err}{PATH_HINTS.get(err.errno, '')}{_kept(err)}{_run_kept(err)}", 2
    if isinstance(err, RuntimeError) and reason.startswith("Could not determine home directory"):  # pathlib's
        return ("a path starts with ~NAME, and no user NAME is known here (or HOME is unset): write the path out, "  # (a
                "or ~/ for your own home"), 2  # CLI hunt: "unexpected", exit 1)
    if isinstance(err, Warning):  # (an environment trial: aekit's own note, under -W error, read "unexpected")
        return (f"{type(err).__name__}: {reason} (a warning, made an error by a warnings filter such as python -W "
                f"error; --debug shows where)"
                f"{_kept(err)}{_run_kept(err)}"), 2
    if isinstance(err, RuntimeError) and world_size() > 1 and (
            lost := re.search(r"Connection (reset|closed) by peer|Broken pipe", str(err))):
        return f"another process of this distributed run stopped (gloo: {lost[0]}){_run_kept(err)}", 2
    # a case aekit does not handle yet: still one line
    return (f"{type(err).__name__}: {reason} (unexpected; --debug or AEKIT_DEBUG=1 shows the traceback)"
            f"{_kept(err)}{_run_kept(err)}"), 1


def _kept(err: BaseException) -> str:
    """After an experiment stopped: where its finished runs are, and how to go on ("" if none)."""
    folder, unfinished = getattr(err, "experiment_dir", None), getattr(err, "unfinished_dir", None)
    if unfinished is not None and Path(unfinished).is_dir():  # (removed when nothing but experiment.yaml was in it)
        return (f"; {unfinished} holds what the experiment finished, without results.json: it does not resume, so "
                "run it again (and delete that folder)")
    if folder is None:
        return ""
    from .experiments import Ledger

    try:
        records = Ledger(Path(folder)).records.values()
    except AekitError:
        return ""
    models = sum(isinstance(r, dict) and set(r) == {"seconds"} for r in records)  # Ledger.once's: a shared SdA or M1
    n = len(records) - models
    shared = f" and {models} pretrained model{'s' * (models != 1)}" if models else ""
    return (f"; {n} finished run{'s' * (n != 1)}{shared} kept in {folder}: `aekit experiment resume "
            f"{shell(folder)}` does the rest")


def _interrupted(err: BaseException) -> str:
    """What is true after Ctrl-C: the folder to resume, or that nothing was saved yet."""
    kept = _kept(err) or _run_kept(err)  # an experiment's folder, or a run's
    run_dir = getattr(err, "run_dir", None)
    if not kept and getattr(err, "unfinished_dir", None) is not None:  # removed: nothing kept (a CLI trial)
        return "aekit: interrupted before the experiment kept anything (its folder is removed): run it again"
    if kept or run_dir is None:
        return "aekit: interrupted" + kept
    return f"aekit: interrupted before the first checkpoint of {run_dir}: nothing to resume, train again"


# the signal that came (a library may catch the interrupt and raise a new one, without its words), and, put off
# while a module was imported, since when and SIGALRM's handler before
_DEFERRED: dict[str, Any] = {}


def _restore_alarm() -> None:
    """The caller's SIGALRM handler and timer (what is left of it) back, where _terminate put them off."""
    if "alarm" in _DEFERRED:
        signal.signal(signal.SIGALRM, _DEFERRED["alarm"])
        left, interval = _DEFERRED["timer"]
        signal.setitimer(signal.ITIMER_REAL, max(left - (time.monotonic() - _DEFERRED["since"]), 1e-3) if left else 0,
                         interval)
    _DEFERRED.clear()


def _terminate(signum, frame):
    """Ctrl-C, SIGTERM (kill, a scheduler) and SIGHUP (a closed terminal) end a run alike: the checkpoint named, or
    an empty folder removed. Not in the middle of an import (torch's takes a second or two), which would leave a
    half-made module that the exit's own imports trip on (tracebacks, a segfault, pybind11's abort): it is asked
    again 50 ms later, for 5 s at most (a script that calls main while it is imported is importing all along).
    Unix alone has the timer for it. Once a command's end is being said (_ignore_stops), only Ctrl-C is answered."""
    if _DEFERRED.get("ending") and signum != signal.SIGINT:
        return
    signum = _DEFERRED.setdefault("signal", signum)  # (SIGALRM's call, for one put off, is for the first signal)
    importing = any(getattr(getattr(m, "__spec__", None), "_initializing", False) for m in list(sys.modules.values()))
    since = _DEFERRED.setdefault("since", time.monotonic())
    if importing and hasattr(signal, "setitimer") and time.monotonic() - since < 5:
        handler = signal.signal(signal.SIGALRM, _terminate)
        timer = signal.setitimer(signal.ITIMER_REAL, 0.05)
        if "alarm" not in _DEFERRED:  # the caller's, given back when this is answered
            _DEFERRED.update(alarm=handler, timer=timer)
        return
    _restore_alarm()
    _DEFERRED.update(came=signum, ending=True)  # a second stop pending with it (a closed terminal's SIGHUP and SIGTERM;
    raise KeyboardInterrupt(*([] if signum == signal.SIGINT else [signal.Signals(signum).name]))  # CPython answers
    # it at the next call, _ignore_stops' or _end_interrupted's entry: a review's traceback) ends the same way


# a closed terminal's SIGHUP; a scheduler's warning before its time limit, SIGUSR1 (SLURM's --signal=USR1@60: a cluster
# trial saw it kill a run at once, a checkpoint half written), which ends a run as SIGTERM does
STOPS = [getattr(signal, name) for name in ("SIGHUP", "SIGUSR1") if hasattr(signal, name)]  # (Windows: neither)


def _ignore_stops() -> None:
    """SIGTERM and SIGHUP ignored from here on (a closed terminal sends SIGHUP twice: a review's traceback), also
    while their handlers are swapped (torchrun's agent stopped a process whose peer had died as it said its error)."""
    if not _in_main_thread():  # (none taken there)
        return
    _DEFERRED["ending"] = True
    for number in (signal.SIGTERM, *STOPS):
        if signal.getsignal(number) is _terminate:  # (those aekit took: a caller's own stay theirs)
            signal.signal(number, signal.SIG_IGN)


def _in_main_thread() -> bool:
    """Whether this is the main thread, the only one that may set signal handlers."""
    return threading.current_thread() is threading.main_thread()


def _relayed(line: str) -> bool:
    """Left for `--distributed`'s launcher to say, in a process it started (distributed.relay_interrupt)."""
    from ..training.distributed import relay_interrupt

    return relay_interrupt(line)


def _end_interrupted(err: BaseException, *, command: bool, speaks: bool) -> int:
    """The end of a command that Ctrl-C, SIGTERM or SIGHUP stopped: one line, and 130, 143 or 129."""
    try:  # a second SIGTERM or SIGHUP while the interrupt is said: the same end
        _ignore_stops()
    except KeyboardInterrupt:  # (one pending already: raised as _ignore_stops is entered, see _main)
        _ignore_stops()
    code = 128 + _DEFERRED.get("came", signal.SIGINT)
    _restore_alarm()  # a Ctrl-C while a SIGTERM was put off: that one is not raised while this is said
    if command:  # a second Ctrl-C during the exit (torch's atexit teardown) printed a traceback: it ends at once
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    if speaks and not (world_size() > 1 and _relayed(_interrupted(err))):
        with contextlib.suppress(OSError):  # (a closed terminal's SIGHUP: nowhere to say it)
            print(_interrupted(err), file=sys.stderr)
    if command:  # ends here with its status: an interrupt that once passed through C code running Python (torch's
        # import) marks the interpreter, which then ends itself by SIGINT (-2) whatever sys.exit says
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    return code


RUNNING: list[bool] = []  # a command runs (main called): its own lines say what a fit kept (training/loop.py)


def main(argv: list[str] | None = None) -> int:
    RUNNING.append(True)
    try:
        return _run(argv)
    finally:
        RUNNING.pop()


def _run(argv: list[str] | None) -> int:
    if world_size() == 1:
        return _main(argv)
    from ..training.distributed import die_with_parent, finish  # a process of a distributed run

    die_with_parent()  # no orphan outlives its launcher to race a later resume
    finish(_main(argv))  # ends it past torch's teardown, which can abort a finished gloo process


_NOTED: list[str] = []  # the notes this process printed (a launcher's are not said again by its processes)
NOTED_VARIABLE = "AEKIT_NOTED"


def _note(message, category, filename, lineno, file=None, line=None) -> None:
    text = str(message).splitlines()[0] if str(message) else category.__name__
    if world_size() > 1 and (os.environ.get("RANK", "0") != "0" or text in os.environ.get(NOTED_VARIABLE, "").split("\n")):
        return  # of a distributed run's processes rank 0 alone speaks, and not again what its launcher said
    _NOTED.append(text)
    print(f"aekit: note: {text}", file=sys.stderr)


def _main(argv: list[str] | None) -> int:
    command = argv is None  # the aekit command itself, not a caller's main([...])
    for name in ("stdout", "stderr"):  # closed (`>&-`, `2>&-`): Python makes it None, and a print or a progress bar
        if getattr(sys, name) is None:  # failed after the work (an environment trial: exit 1, or the run lost)
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115 (for the process's life, as the stream it stands for)
    if command:  # an ASCII terminal or PYTHONIOENCODING=ascii: "Fréchet" shows as "Fr?chet", not an error after the work
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, ValueError):
                stream.reconfigure(errors="replace")
    argv = list(sys.argv[1:] if argv is None else argv)
    _NOTED.clear()  # (a caller's earlier main([...]) said its own)
    debug = "--debug" in argv or debugging()
    argv = [a for a in argv if a != "--debug"]
    speaks = os.environ.get("RANK", "0") == "0"  # of the processes of a distributed run, rank 0 alone prints
    # Ctrl-C, SIGTERM and SIGHUP end a run alike, but a signal ignored stays so (nohup's SIGHUP: a review saw a closed
    # terminal stop such a run), and a caller's own Ctrl-C handler is left alone
    stops = [signal.SIGTERM, *(STOPS if command else STOPS[:1]), signal.SIGINT]  # (SIGUSR1 the command's alone: a
    # caller's own handler, faulthandler's dump, is left alone, a review)
    if _in_main_thread() and signal.getsignal(signal.SIGINT) is _interrupted_at_start:  # (the command's start: a
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C after its work is not "as it started")
    handled = [n for n in stops if signal.getsignal(n) is not signal.SIG_IGN and (
        n != signal.SIGINT or signal.getsignal(n) is signal.default_int_handler)] if _in_main_thread() else []  # (a
    # worker thread sets no handler: every command raised ValueError there, --version too, a concurrency hunt)
    previous = {number: signal.signal(number, _terminate) for number in handled}
    shown = warnings.showwarning
    warnings.showwarning = _note  # a warning of aekit's (or a library's) is one line, as errors are
    threads_hook = threading.excepthook
    if not debug:  # so is an error in a library's thread (a kill trial: TensorBoard's writer, its folder removed)
        threading.excepthook = _thread_note
    quieted = None  # pooch's logger and its level, where --quiet raised it: put back at the end (a caller's main([...]))
    try:
        undecoded = next((a for a in argv if "=" in a and not a.startswith("-") and any(  # an override, read as YAML
            "\udc80" <= c <= "\udcff" for c in a)), None)  # (a CLI hunt: "not valid YAML"; paths given as such are
        if undecoded is not None:  # opened by their bytes, a review)
            try:  # UTF-8 text a legacy locale cannot read, or bytes of another encoding (a Latin-1 file name)
                os.fsencode(undecoded).decode("utf-8")
                fix = "run aekit with LC_ALL=C.UTF-8 (or PYTHONUTF8=1)"
            except UnicodeDecodeError:
                fix = "rename the file to a name in UTF-8 (or give it as a flag's or command's path, not in an override)"
            raise ConfigError(f"{os.fsencode(undecoded)!r:.80}: the override holds bytes this locale's encoding "
                              f"({sys.getfilesystemencoding()}) cannot read; {fix}")
        try:
            args = parse_args(argv)
        except SystemExit as stop:  # argparse's --help, --version and refusals: a caller's main([...]) gets the code (a
            if command:  # notebook hunt: SystemExit in a cell, `code = main(...)` never set)
                raise
            return stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 2
        if command:  # (a locked-down trial: torch's import failed as "Intel oneMKL FATAL ERROR: Cannot load ...")
            try:
                os.getcwd()
            except FileNotFoundError:
                raise ConfigError("the current folder no longer exists (removed since the shell entered it); cd to a "
                                  "folder that does and run it again") from None
        if world_size() > 1 and args.command not in ("train", "resume"):  # (each process wrote its own experiment)
            raise ConfigError(f"aekit {args.command} runs in one process; torchrun and --distributed are for aekit "
                              "train and aekit resume")
        if getattr(args, "quiet", False):  # pooch's "Downloading data from ..." lines too (its logger is its own,
            import pooch  # not logging.getLogger's)

            quieted = (pooch.get_logger(), pooch.get_logger().level)
            quieted[0].setLevel(logging.WARNING)
        code = args.func(args) or 0
        sys.stdout.flush()  # here, so that a closed pipe (`| head`) is caught below
        came = _DEFERRED.get("signal")  # put off during an import in the command's last 50 ms: answered, not dropped
        if came is not None:  # (a kill trial: exit 0 and no word for a SIGTERM)
            _restore_alarm()
            _ignore_stops()
            if speaks:
                print("aekit: interrupted as it ended, after its work was done", file=sys.stderr)
            return 128 + came
    except KeyboardInterrupt as err:
        return _end_interrupted(err, command=command, speaks=speaks)
    except BrokenPipeError as err:  # the reader went away (`aekit ... | head`): stop quietly, as `cat` does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush cannot fail again
        kept = _kept(err) or _run_kept(err)  # a run stopped with it: said where stderr still goes (a CLI trial)
        if not kept and getattr(err, "run_dir", None) is not None:  # (its folder removed, as Ctrl-C's: a review)
            kept = f", before the first checkpoint of {err.run_dir}: nothing to resume, train again"
        if not kept and getattr(err, "unfinished_dir", None) is not None:  # (exit 141 and no word: a CLI hunt)
            kept = ", before the experiment kept anything (its folder is removed): run it again"
        if kept and speaks:
            with contextlib.suppress(OSError):
                print(f"aekit: stopped: the reader of its output went away (a closed pipe){kept}", file=sys.stderr)
        return 141
    except Exception as err:
        try:  # first: the error is said and its status kept, whoever stops us now
            _ignore_stops()
        except KeyboardInterrupt:  # a stop that came while C code ran (gloo's failing step, as torchrun's agent stopped
            _ignore_stops()  # this process) is raised as the next function is entered, _ignore_stops (a review)
        if wraps_interrupt(err):  # a library's error for an interrupt inside it: pybind11's ImportError
            return _end_interrupted(err, command=command, speaks=speaks)  # "initialization failed" (matplotlib's)
        _restore_alarm()  # (and a SIGTERM put off during an import is not raised inside this block)
        message, code = _error_line(err)
        if debug and code != 2:  # an unexpected error: raised (a caller's post-mortem)
            raise
        if debug:  # a refusal: its traceback too, its status kept (a CLI hunt: a requeue script read 1 as 2)
            traceback.print_exc()
        if speaks:
            if getattr(err, "metrics", None):  # evaluated, then a write failed: the figures are not lost
                from . import run

                print(run.format_metrics(err.metrics))
            print(f"aekit: error: {message}", file=sys.stderr)
        else:  # every process meets the same error: rank 0, which speaks for all, ends first and is reported
            time.sleep(2)
        return code
    finally:
        _restore_alarm()  # a SIGTERM still put off (_terminate): its timer and handler go, the caller's come back
        for number, handler in previous.items():
            signal.signal(number, handler)
        warnings.showwarning = shown
        threading.excepthook = threads_hook
        if quieted is not None:
            quieted[0].setLevel(quieted[1])
    return code


if __name__ == "__main__":
    sys.exit(main())
