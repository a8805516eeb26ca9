"""Quality within a budget: the deep MNIST autoencoder's test squared error per image, with wall time.

Trains configs/mnist-deep-quality.yaml (784-1000-500-250-30 on all 60,000 training digits) exactly as
`aekit train` would, and every `--every` epochs prints the test squared error per image (summed over
the 784 pixels in [0, 1]) with the elapsed wall time, then PCA-30's error for reference.
Goal (issue 7): <= 3.0 within 30 minutes on a quiet 2-core CPU.

    AEKIT_DATA_DIR=/work/shared/data python benchmarks/quality_mnist.py [--epochs 50] [--every 5] [--threads 2]

A shorter run (`--epochs 10`) uses a cosine schedule over those 10 epochs, so it is a complete (if
shorter) run, not the first 10 epochs of the 50-epoch one.
"""

from __future__ import annotations

import argparse
import os
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

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "mnist-deep-quality.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(CONFIG))
    parser.add_argument("--epochs", type=int, default=None, help="override train.epochs")
    parser.add_argument("--every", type=int, default=5, help="epochs between test evaluations")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("overrides", nargs="*", help="dotted overrides, e.g. train.lr=0.002")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    overrides = list(args.overrides) + ([f"train.epochs={args.epochs}"] if args.epochs else [])
    cfg = load_run_config(args.config, overrides)
    train, val = load_data(cfg)
    test = load_test(cfg)
    model = build_model(cfg, train.sample_shape)
    print(f"{cfg.model}  {cfg.train.epochs} epochs, batch {cfg.train.batch_size}, lr {cfg.train.lr} "
          f"({cfg.train.lr_schedule}); {len(train)} training digits; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.1f}")
    seen = train.x[:10_000]  # training digits, to show the gap between seen and unseen images
    print(f"{'epoch':>5} {'wall (s)':>9} {'train loss':>11} {'train SE/image':>15} {'test SE/image':>14}")
    start = time.perf_counter()

    def report(trainer, logs):
        if trainer.epoch % args.every == 0 or trainer.epoch == cfg.train.epochs:
            sse = squared_error_per_sample(trainer.model, test.x).mean()
            seen_sse = squared_error_per_sample(trainer.model, seen).mean()
            trainer.model.train()
            print(f"{trainer.epoch:>5} {time.perf_counter() - start:>9.0f} {logs['train_loss']:>11.3f} "
                  f"{seen_sse:>15.3f} {sse:>14.3f}", flush=True)

    aekit.fit(model, train, val, config=cfg.train, callbacks=[LambdaCallback(on_epoch_end=report)], progress=False)
    wall = time.perf_counter() - start
    ae = squared_error_per_sample(model, test.x).mean()
    pca = pca_squared_error(train.x, test.x, 30).mean()
    print(f"\ntest squared error per image: autoencoder {ae:.3f}, PCA-30 {pca:.3f}; "
          f"training wall time {wall / 60:.1f} min (goal: <= 3.0 within 30 min); "
          f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
