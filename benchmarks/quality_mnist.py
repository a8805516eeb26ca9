"""Quality per second: the deep MNIST autoencoder's test error against wall time, aekit and pythae.

Part 1 trains a config (default configs/mnist-deep-fast.yaml: 784-1000-500-250-30 on all 60,000
training digits, a 100 s training budget) exactly as `aekit train` would, and after every epoch
prints the test squared error per image (summed over the 784 pixels in [0, 1]) and the training
seconds so far (the evaluations are timed apart and not counted). Then the whole command's wall
time is measured too (`--whole`: `aekit train CONFIG` in a subprocess, as a user runs it).

Part 2 (unless --no-pythae) trains pythae's `AE` with its documented default trainer settings
(`BaseTrainerConfig()`: Adam, learning rate 1e-4, batch 64) on the same architecture (the same
encoder and decoder modules, sigmoid outputs, pythae's own MSE loss) and data, evaluated the same
way after every epoch, until it reaches the target or `--pythae-limit` seconds of training.

The table at the end: the training seconds each library needed to reach `--target` (Hinton &
Salakhutdinov's 3.00), or its best within its limit, and the ratio.
Goals (issue 12): <= 3.00 within 120 s for the whole `aekit train` command on 2 idle cores; aekit at
least 3x sooner than pythae.

    AEKIT_DATA_DIR=/work/shared/data python benchmarks/quality_mnist.py [--config C] [--whole]
        [--pythae-limit 1800] [--no-pythae] [overrides ...]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import aekit
from aekit.apps.run import (
    build_model,
    load_data,
    load_run_config,
    load_test,
    pca_squared_error,
    squared_error_per_sample,
)
from aekit.training.callbacks import LambdaCallback

CONFIG = Path(__file__).resolve().parents[1] / "src" / "aekit" / "configs" / "mnist-deep-fast.yaml"


class Clock:
    """Training seconds: wall time minus the time spent evaluating."""

    def __init__(self, target: float) -> None:
        self.start = time.perf_counter()
        self.paused = 0.0
        self.target = target
        self.reached: float | None = None
        self.best = float("inf")

    def record(self, epoch: int, model, test_x) -> float:
        pause = time.perf_counter()
        seconds = pause - self.start - self.paused
        error = float(squared_error_per_sample(model, test_x).mean())
        model.train()
        self.best = min(self.best, error)
        if error <= self.target and self.reached is None:
            self.reached = seconds
        print(f"{epoch:>5} {seconds:>9.1f} {error:>14.3f}", flush=True)
        self.paused += time.perf_counter() - pause
        return error


def run_aekit(cfg, train, val, test, target: float) -> Clock:
    model = build_model(cfg, train.sample_shape)
    print(f"aekit: {cfg.model}\n  train {cfg.train}")
    print(f"{'epoch':>5} {'train s':>9} {'test SE/image':>14}")
    clock = Clock(target)
    aekit.fit(model, train, val, config=cfg.train, progress=False,
              callbacks=[LambdaCallback(on_epoch_end=lambda t, logs: clock.record(t.epoch, t.model, test.x))])
    return clock


def run_pythae(cfg, train, test, target: float, limit: float) -> Clock:
    from pythae.data.datasets import BaseDataset
    from pythae.models import AE, AEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.trainers import BaseTrainer, BaseTrainerConfig
    from pythae.trainers.training_callbacks import TrainingCallback

    for name in list(logging.root.manager.loggerDict):  # pythae logs every epoch at INFO level
        if name.startswith("pythae"):
            logging.getLogger(name).setLevel(logging.WARNING)
    ae = build_model(cfg, train.sample_shape)  # the same architecture and initial weights as aekit's

    class Encoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.ae = ae

        def forward(self, x):
            return ModelOutput(embedding=self.ae.encode(x))

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.ae = ae

        def forward(self, z):
            return ModelOutput(reconstruction=self.ae.decode(z))

    class Stop(Exception):
        pass

    clock = Clock(target)

    class Evaluate(TrainingCallback):
        epoch = 0

        def on_epoch_end(self, training_config, **kwargs):  # pythae passes no epoch number here
            self.epoch += 1
            clock.record(self.epoch, ae, test.x)
            if clock.reached is not None or time.perf_counter() - clock.start - clock.paused > limit:
                raise Stop

    model = AE(AEConfig(input_dim=tuple(train.sample_shape), latent_dim=cfg.model["code_size"]),
               encoder=Encoder(), decoder=Decoder())
    defaults = BaseTrainerConfig()
    print(f"\npythae AE, default trainer settings: {defaults.optimizer_cls}, lr {defaults.learning_rate}, "
          f"batch {defaults.per_device_train_batch_size}, {defaults.num_epochs} epochs (limit {limit:g} s)")
    print(f"{'epoch':>5} {'train s':>9} {'test SE/image':>14}")
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stderr(io.StringIO()):
        config = BaseTrainerConfig(output_dir=out, no_cuda=not torch.cuda.is_available())
        trainer = BaseTrainer(model, BaseDataset(train.x, torch.zeros(len(train))), training_config=config,
                              callbacks=[Evaluate()])
        clock.start = time.perf_counter()
        with contextlib.suppress(Stop):
            trainer.train()
    return clock


def whole_command(config: str, overrides: list[str]) -> tuple[float, str]:
    """Wall time of `aekit train CONFIG` as a user runs it, and its result lines."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "aekit", "train", config, "--quiet", f"output.dir={out}",
                               *overrides], capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - start
    return seconds, "\n".join(line for line in done.stdout.splitlines() if "squared error" in line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(CONFIG))
    parser.add_argument("--target", type=float, default=3.0)
    parser.add_argument("--whole", action="store_true", help="also time the whole `aekit train` command")
    parser.add_argument("--no-pythae", action="store_true")
    parser.add_argument("--pythae-limit", type=float, default=1800, help="seconds of pythae training at most")
    parser.add_argument("overrides", nargs="*", help="dotted overrides, e.g. train.lr=0.002")
    args = parser.parse_args()

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.2f}")
    rows = []
    if args.whole:
        seconds, lines = whole_command(args.config, args.overrides)
        print(f"aekit train {Path(args.config).name}: {seconds:.1f} s for the whole command\n{lines}\n")
    cfg = load_run_config(args.config, args.overrides)
    train, val = load_data(cfg)
    test = load_test(cfg)
    rows.append(("aekit", run_aekit(cfg, train, val, test, args.target)))
    if not args.no_pythae:
        rows.append(("pythae", run_pythae(cfg, train, test, args.target, args.pythae_limit)))
    pca = pca_squared_error(train.x, test.x, cfg.model["code_size"]).mean()

    print(f"\nPCA-{cfg.model['code_size']}: {pca:.3f}; load average now {os.getloadavg()[0]:.2f}")
    print(f"{'library':<8} {'training s to ' + format(args.target, 'g'):>18} {'best':>7}")
    for name, clock in rows:
        reached = f"{clock.reached:.0f}" if clock.reached is not None else "not reached"
        print(f"{name:<8} {reached:>18} {clock.best:>7.3f}")
    if len(rows) == 2:
        a, p = rows[0][1], rows[1][1]
        if a.reached is not None and p.reached is not None:
            print(f"aekit reached {args.target:g} {p.reached / a.reached:.1f}x sooner than pythae")
        elif a.reached is not None:
            print(f"pythae did not reach {args.target:g} within its limit: aekit was at least "
                  f"{args.pythae_limit / a.reached:.1f}x sooner")


if __name__ == "__main__":
    main()
