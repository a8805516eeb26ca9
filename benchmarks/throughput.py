"""Throughput of `aekit.fit` against a minimal hand-written PyTorch loop, in the same process.

Both train the same 784-1000-500-250-30 autoencoder (BCE from logits, Adam) on the same MNIST
digits with the same batch size for the same number of steps. Prints samples/s for both, their
ratio (goal >= 0.95), and the test squared error per image after the aekit run next to PCA-30's.

    python benchmarks/throughput.py [--steps 200] [--batch-sizes 128 256] [--repeats 3]

Uses full MNIST from $AEKIT_DATA_DIR when present, else the bundled mnist-mini.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

import aekit
from aekit.data import load_dataset
from aekit.run import pca_squared_error, squared_error_per_sample


def load():
    try:
        return load_dataset("mnist", "train"), load_dataset("mnist", "test"), "mnist"
    except aekit.DataError:
        return load_dataset("mnist-mini", "train"), load_dataset("mnist-mini", "test"), "mnist-mini"


def make_model(seed: int = 0):
    torch.manual_seed(seed)
    return aekit.create_model("dense", input_shape=(1, 28, 28), hidden=[1000, 500, 250], code_size=30)


def hand_loop(x: torch.Tensor, batch_size: int, steps: int) -> float:
    """The baseline: what a person writes by hand. Returns samples/s."""
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    flat = x.reshape(len(x), -1)
    order = torch.randperm(len(x))
    start = time.perf_counter()
    for step in range(steps):
        idx = order[step * batch_size : (step + 1) * batch_size]
        xb = flat[idx]
        logits = model.decoder(model.encoder(xb))
        loss = F.binary_cross_entropy_with_logits(logits, xb, reduction="none").sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()  # the same per-step sync aekit does for its NaN check and progress bar
    return steps * batch_size / (time.perf_counter() - start)


def aekit_fit(x: torch.Tensor, batch_size: int, steps: int):
    model = make_model()
    subset = x[: steps * batch_size]
    start = time.perf_counter()
    aekit.fit(model, subset, epochs=1, batch_size=batch_size, lr=1e-3, progress=False, shuffle=True)
    return steps * batch_size / (time.perf_counter() - start), model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--repeats", type=int, default=3, help="best of this many timings per contender")
    args = parser.parse_args()

    train, test, name = load()
    x = train.x
    print(f"data: {name}, {len(x)} training digits; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'batch':>6} {'hand loop (samples/s)':>22} {'aekit.fit (samples/s)':>22} {'ratio':>7}")
    last_model = None
    for bs in args.batch_sizes:
        steps = min(args.steps, len(x) // bs)
        hand = fit = 0.0
        for _ in range(args.repeats):  # interleaved, best of N: the machine is shared and noisy
            hand = max(hand, hand_loop(x, bs, steps))
            rate, last_model = aekit_fit(x, bs, steps)
            fit = max(fit, rate)
        print(f"{bs:>6} {hand:>22.0f} {fit:>22.0f} {fit / hand:>7.3f}")

    ae = squared_error_per_sample(last_model, test.x).mean()
    pca = pca_squared_error(train.x, test.x, 30).mean()
    print(f"\ntest squared error per image after {steps} steps of aekit.fit: {ae:.2f}  (PCA-30: {pca:.2f}; "
          "Hinton & Salakhutdinov 2006: AE 3.00, PCA 13.87 after full training)")


if __name__ == "__main__":
    main()
