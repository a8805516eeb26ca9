"""The `aekit` command. Every error aekit raises on purpose is printed as one line, exit status 2."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from . import __version__
from .errors import AekitError


def _launched_distributed(args, argv: list[str]) -> bool:
    """`--distributed` outside torchrun: start the processes (each runs `aekit ARGV`), wait, True."""
    from .training import distributed

    if not args.distributed or distributed.launched():
        return False
    distributed.launch([*argv, *(["--quiet"] if args.quiet else [])], nproc=args.nproc)
    return True


def _cmd_train(args) -> None:
    from . import run

    if _launched_distributed(args, ["train", args.config, *args.overrides]):
        return
    cfg = run.load_run_config(args.config, args.overrides)
    run_dir = run.train(cfg, progress=False if args.quiet else None)
    _print_result(run_dir)


def _cmd_resume(args) -> None:
    from . import run

    if _launched_distributed(args, ["resume", args.run_dir, *(["--epochs", str(args.epochs)] if args.epochs is not None else [])]):
        return
    run_dir = run.resume(args.run_dir, epochs=args.epochs, progress=False if args.quiet else None)
    _print_result(run_dir)


def _cmd_evaluate(args) -> None:
    from . import run

    metrics = run.evaluate_run(args.run_dir)
    print(run.format_metrics(metrics))


def _print_result(run_dir: Path) -> None:
    import json

    from . import run
    from .training import distributed

    is_main = distributed.is_main()
    distributed.shutdown()  # the run is over: leave the process group (a no-op outside torchrun)
    if not is_main:  # rank 0 alone evaluated the run and reports it
        return

    metrics = json.loads((run_dir / "metrics.json").read_text())
    print(run.format_metrics(metrics))
    print(f"run folder: {run_dir}")


def _cmd_demo(args) -> None:
    from . import run
    from .config import apply_overrides

    raw = apply_overrides(
        {k: dict(v) for k, v in run.DEMO_CONFIG.items()},
        [f"output.dir={args.out}", *(f"train.epochs={args.epochs}" for _ in [0] if args.epochs is not None), *args.overrides],
    )
    cfg = run.parse_run_config(raw)
    print(
        f"aekit demo: training a {'-'.join(str(w) for w in [784, *cfg.model['hidden'], cfg.model['code_size']])} "
        f"autoencoder on {cfg.data.name} for {cfg.train.epochs} epochs"
    )
    start = time.perf_counter()
    run_dir = run.train(cfg, progress=False if args.quiet else None)
    print(f"trained in {time.perf_counter() - start:.0f}s")
    _print_result(run_dir)
    print(f"picture: {run_dir / 'reconstructions.png'}")


def _cmd_models(args) -> None:
    from .registry import list_models, model_entry

    if args.name:
        entry = model_entry(args.name)
        print(f"{entry.name}: {entry.summary}")
        for f in dataclasses.fields(entry.cls.Config):
            default = "required (set from the data)" if f.name == "input_shape" else repr(
                f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            )
            print(f"  {f.name}: {default}")
        return
    names = list_models()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {model_entry(name).summary}")


def _cmd_datasets(args) -> None:
    from .data import data_dir
    from .data.datasets import dataset_entry, list_datasets

    names = list_datasets()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {dataset_entry(name).summary}")
    print(f"\ndata directory: {data_dir()} (set AEKIT_DATA_DIR to change it)")


def _cmd_export(args) -> None:
    from .export import export_model

    suffix = ".onnx" if args.format == "onnx" else ".pt"
    out = Path(args.output) if args.output else Path(args.run_dir) / f"{args.part}{suffix}"
    path = export_model(args.run_dir, out, format=args.format, part=args.part)
    print(f"wrote {path}")


def _cmd_experiment(args) -> None:
    from .experiments import experiment, list_experiments, run_experiment, settings

    if args.action == "list":
        names = list_experiments()
        width = max(map(len, names)) if names else 0
        for name in names:
            print(f"{name:<{width}}  {experiment(name).summary}")
        return
    if not args.name:
        from .errors import ConfigError

        raise ConfigError(f"experiment {args.action}: give an experiment name (see `aekit experiment list`)")
    if args.action == "show":
        import yaml

        print(yaml.safe_dump(settings(args.name, args.overrides, tiny=args.tiny), sort_keys=False).rstrip())
        return
    run_dir, results = run_experiment(args.name, args.overrides, out_dir=args.out, tiny=args.tiny)
    headline = results.get("summary") if isinstance(results, dict) else None
    if headline:
        print(headline)
    print(f"run folder: {run_dir}")


def _cmd_report(args) -> None:
    from .report import write_report

    dirs = [Path(d) for d in args.run_dirs]
    output = Path(args.output) if args.output else (dirs[0] / "report.html" if len(dirs) == 1 else Path("report.html"))
    print(f"wrote {write_report(dirs, output)}")


def _distributed_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel over --nproc local processes (as torchrun --nproc_per_node=N -m aekit ...)")
    p.add_argument("--nproc", type=int, default=None, help="processes for --distributed (default: GPUs, else 2)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aekit", description="Build, train, inspect and apply autoencoders.")
    parser.add_argument("--version", action="version", version=f"aekit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a model from a YAML/JSON config")
    p.add_argument("config", help="config file (see configs/)")
    p.add_argument("overrides", nargs="*", help="dotted overrides such as model.code_size=2 train.epochs=5")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _distributed_flags(p)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("resume", help="continue an interrupted run from its last checkpoint")
    p.add_argument("run_dir")
    p.add_argument("--epochs", type=int, default=None, help="train up to this many epochs in total")
    p.add_argument("--quiet", action="store_true")
    _distributed_flags(p)
    p.set_defaults(func=_cmd_resume)

    p = sub.add_parser("evaluate", help="test metrics of a run next to PCA's")
    p.add_argument("run_dir")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("demo", help="train the deep MNIST autoencoder on the bundled digits (a few minutes)")
    p.add_argument("overrides", nargs="*", help="dotted overrides, e.g. train.epochs=5")
    p.add_argument("--out", default="runs", help="parent folder of the run folder (default: runs)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("models", help="list the models, or the keys of one")
    p.add_argument("name", nargs="?")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("export", help="export a trained model to ONNX or TorchScript")
    p.add_argument("run_dir", help="run folder, or a model/checkpoint .safetensors file")
    p.add_argument("--format", choices=["onnx", "torchscript"], default="onnx")
    p.add_argument("--part", choices=["encoder", "decoder", "full"], default="encoder")
    p.add_argument("--output", default=None, help="file to write (default: RUN_DIR/<part>.onnx or .pt)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("experiment", help="the classic experiments: list, show NAME, run NAME")
    p.add_argument("action", choices=["list", "show", "run"])
    p.add_argument("name", nargs="?")
    p.add_argument("overrides", nargs="*", help="settings such as epochs=5")
    p.add_argument("--tiny", action="store_true", help="a tiny budget that runs in seconds (for tests)")
    p.add_argument("--out", default="runs", help="parent folder of the run folder (default: runs)")
    p.set_defaults(func=_cmd_experiment)

    p = sub.add_parser("report", help="one self-contained HTML page about run folders (pictures, tables, curves)")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders of aekit train or aekit experiment run")
    p.add_argument("--output", default=None, help="HTML file to write (default: RUN_DIR/report.html for one run, else ./report.html)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("datasets", help="list the data sets")
    p.set_defaults(func=_cmd_datasets)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except AekitError as err:
        print(f"aekit: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aekit: interrupted; the last checkpoint is intact (aekit resume RUN_DIR continues)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
