"""Sparse and denoising autoencoders on MNIST: the figures the classic texts show, as two tables.

(a) UFLDL's sparse autoencoder: 784-200-784, sigmoid units, squared error, sparsity target
    rho = 0.1 with weight beta = 3 (the tutorial's MNIST setting), against the same net without
    the penalty: the hidden units' mean activation on test digits and the test squared error.
    UFLDL minimises 0.5 * squared error + beta * KL; our squared error has no 0.5, so beta = 6
    reproduces UFLDL's balance exactly; both rows are shown.
(b) Denoising: a 784-500-128-500-784 ReLU autoencoder trained on digits with Gaussian noise
    (std 0.5, clipped to [0, 1]); PSNR against the clean test digits of the noisy input, of the
    denoised output, and (for reference) of a plain autoencoder of the same size fed the noisy
    input, next to each model's PSNR on clean input.

    AEKIT_DATA_DIR=../shared/data python benchmarks/sparse_denoising_mnist.py [--train-limit 10000] [--epochs 10]

Uses full MNIST from $AEKIT_DATA_DIR when present, else the bundled mnist-mini.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

import aekit
from aekit.data import load_dataset


def load(train_limit: int):
    try:
        train, test, name = load_dataset("mnist", "train"), load_dataset("mnist", "test"), "mnist"
    except aekit.DataError:
        train, test, name = load_dataset("mnist-mini", "train"), load_dataset("mnist-mini", "test"), "mnist-mini"
    return train.take(train_limit, seed=0), test, name


def train(name: str, x: torch.Tensor, args, **config):
    torch.manual_seed(0)  # every model starts from the same weights for the same shape
    model = aekit.create_model(name, input_shape=tuple(x.shape[1:]), **config)
    aekit.fit(model, x, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, progress=False)
    return model.eval()


@torch.no_grad()
def in_batches(fn, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    return torch.cat([fn(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1], from the mean squared error over all pixels."""
    return (10 * torch.log10(1 / F.mse_loss(a, b))).item()


def squared_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """Squared error summed over a digit's pixels, averaged over digits."""
    return (a - b).flatten(1).pow(2).sum(1).mean().item()


def sparse_table(x: torch.Tensor, test: torch.Tensor, args) -> None:
    print("\n(a) sparse autoencoder 784-200-784, sigmoid, squared error (UFLDL: rho = 0.1, beta = 3)")
    print(f"{'model':<34} {'mean activation':>16} {'units in [.05,.2]':>18} {'test sq. error':>15}")
    common = {"code_size": 200, "recon_loss": "mse", "sparsity_target": 0.1}
    for label, beta in (("no penalty (beta = 0)", 0.0), ("KL, beta = 3", 3.0), ("KL, beta = 6 (= UFLDL's 3)", 6.0)):
        model = train("sparse-kl", x, args, sparsity_weight=beta, **common)
        hidden = in_batches(model.encode, test)  # (N, 200)
        unit_means = hidden.mean(dim=0)
        near = ((unit_means >= 0.05) & (unit_means <= 0.2)).float().mean().item()
        error = squared_error(in_batches(model.decode, hidden), test)
        print(f"{label:<34} {hidden.mean().item():>16.3f} {near:>17.0%} {error:>15.2f}")


def denoising_table(x: torch.Tensor, test: torch.Tensor, args) -> None:
    print("\n(b) denoising, Gaussian noise std 0.5 clipped to [0, 1]; PSNR (dB) against the clean test digits")
    size = {"hidden": (500,), "code_size": 128, "code_activation": "relu"}
    dae = train("denoising", x, args, noise="gaussian", noise_std=0.5, **size)
    plain = train("dense", x, args, **size)
    noisy = dae.corrupt(test, generator=torch.Generator().manual_seed(0))
    rows = [
        ("noisy input", psnr(noisy, test), float("nan")),
        ("denoising AE (noisy -> output)", psnr(in_batches(lambda b: dae(b).x_hat, noisy), test),
         psnr(in_batches(lambda b: dae(b).x_hat, test), test)),
        ("plain AE (noisy -> output)", psnr(in_batches(lambda b: plain(b).x_hat, noisy), test),
         psnr(in_batches(lambda b: plain(b).x_hat, test), test)),
    ]
    print(f"{'':<34} {'PSNR from noisy':>16} {'PSNR from clean':>16}")
    for label, from_noisy, from_clean in rows:
        clean = "" if from_clean != from_clean else f"{from_clean:.2f}"
        print(f"{label:<34} {from_noisy:>16.2f} {clean:>16}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-limit", type=int, default=10_000, help="training digits (random subset)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--only", choices=("sparse", "denoising"), default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    train_set, test_set, name = load(args.train_limit)
    print(f"{name}: {len(train_set)} training digits, {len(test_set)} test digits, "
          f"{args.epochs} epochs, batch {args.batch_size}, Adam lr {args.lr}")
    if args.only in (None, "sparse"):
        sparse_table(train_set.x, test_set.x, args)
    if args.only in (None, "denoising"):
        denoising_table(train_set.x, test_set.x, args)
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
