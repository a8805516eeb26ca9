"""Training throughput of `aekit.fit` against a hand-written PyTorch loop and pythae, in one run.

Workloads: the 784-1000-500-250-30 MNIST autoencoder at batch 128 and 256, and the conv
autoencoder (models/conv.py defaults: 16-32 channels, upsampling decoder) at batch 128. Contenders,
all with the same model (same encoder and decoder modules), Adam at lr 1e-3, the same samples and
the same number of steps:

  hand loop        what a person writes by hand: slice a batch, forward, BCE, backward,
                   `torch.optim.Adam(...)` with torch's default kernels, `loss.item()` each step
  hand loop fused  the same with `Adam(fused=True)`, the fastest plain loop torch offers on a CPU
  aekit.fit        `aekit.fit(model, x, epochs=1, ...)`, everything included (checks, callbacks,
                   NaN guard, loss logging)
  pythae           pythae's `AE` (its own MSE loss on sigmoid outputs) wrapping the same encoder and
                   decoder, trained by its `BaseTrainer` for one epoch (its DataLoader, its tqdm bar)

Every repeat also times a large fp32 matmul, the machine's dense-matmul peak at that moment; the
table gives each contender's best samples/s, its achieved GFLOP/s (6 FLOPs per multiply-add of the
forward pass per sample, i.e. 6 per weight per sample for a dense net) and that as a share of the
best peak. Timings are interleaved best-of-N because the machine is shared.

    python benchmarks/throughput.py [--steps 60] [--repeats 3] [--threads 1] [--bf16] [--no-pythae] [--device cuda]

On a GPU every contender trains there (the data starts on the device; pythae's loader takes it from
the host, as it would).

Uses full MNIST from $AEKIT_DATA_DIR when present, else the bundled mnist-mini.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import tempfile
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

import aekit
from aekit.data import load_dataset

PEAK_SIZE = 1024  # CPU peak = best GFLOP/s of a (1024 x 1024) @ (1024 x 1024) fp32 matmul


def load_train() -> tuple[torch.Tensor, str]:
    try:
        return load_dataset("mnist", "train").x, "mnist"
    except aekit.DataError:
        return load_dataset("mnist-mini", "train").x, "mnist-mini"


# --- workloads ---------------------------------------------------------------------------------------
WORKLOADS: dict[str, dict] = {
    "dense": {"name": "dense", "hidden": [1000, 500, 250], "code_size": 30},
    "conv": {"name": "conv"},
}


def make_model(kind: str, seed: int = 0):
    torch.manual_seed(seed)
    spec = dict(WORKLOADS[kind])
    return aekit.create_model(spec.pop("name"), input_shape=(1, 28, 28), **spec)


def forward_macs(model) -> int:
    """Multiply-adds of one sample's forward pass through the Linear and conv layers."""
    macs = 0

    def count(module, inputs, output):
        nonlocal macs
        if isinstance(module, torch.nn.Linear):
            macs += module.in_features * module.out_features
        elif isinstance(module, torch.nn.Conv2d):
            macs += output[0].numel() * module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        elif isinstance(module, torch.nn.ConvTranspose2d):
            macs += inputs[0][0].numel() * module.out_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]

    hooks = [m.register_forward_hook(count) for m in model.modules()]
    with torch.no_grad():
        model(torch.zeros(1, *model.config.input_shape))
    for h in hooks:
        h.remove()
    return macs


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_gflops(device: torch.device, dtype=torch.float32) -> float:
    size = PEAK_SIZE if device.type == "cpu" else 8192  # a GPU needs a bigger matmul to reach its peak
    a = torch.randn(size, size, dtype=dtype, device=device)
    b = torch.randn(size, size, dtype=dtype, device=device)
    a @ b
    best = 0.0
    for _ in range(3):
        sync(device)
        start = time.perf_counter()
        for _ in range(4):
            a @ b
        sync(device)
        best = max(best, 4 * 2 * size**3 / (time.perf_counter() - start) / 1e9)
    return best


# --- contenders: each returns samples/s ----------------------------------------------------------------
def hand_loop(kind: str, x: torch.Tensor, batch_size: int, steps: int, *, fused: bool = False) -> float:
    """The baseline: what a person writes by hand (on the device the data is on)."""
    model = make_model(kind).to(x.device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused or None)
    order = torch.randperm(len(x), device=x.device)
    sync(x.device)
    start = time.perf_counter()
    for step in range(steps):
        xb = x[order[step * batch_size : (step + 1) * batch_size]]
        logits = model.decode_logits(model.encode(xb))
        loss = F.binary_cross_entropy_with_logits(logits, xb, reduction="none").flatten(1).sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()  # the per-step sync every loop has (NaN check, progress bar)
    return steps * batch_size / (time.perf_counter() - start)


def aekit_fit(kind: str, x: torch.Tensor, batch_size: int, steps: int, **options) -> float:
    model = make_model(kind)
    subset = x[: steps * batch_size]
    start = time.perf_counter()
    aekit.fit(model, subset, epochs=1, batch_size=batch_size, lr=1e-3, progress=False, device=str(x.device.type),
              **options)
    sync(x.device)
    return steps * batch_size / (time.perf_counter() - start)


def pythae_fit(kind: str, x: torch.Tensor, batch_size: int, steps: int) -> float:
    from pythae.data.datasets import BaseDataset
    from pythae.models import AE, AEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    for name in list(logging.root.manager.loggerDict):  # pythae logs every run at INFO level
        if name.startswith("pythae"):
            logging.getLogger(name).setLevel(logging.WARNING)

    class Encoder(BaseEncoder):
        def __init__(self, ae):
            super().__init__()
            self.ae = ae

        def forward(self, x):
            return ModelOutput(embedding=self.ae.encode(x))

    class Decoder(BaseDecoder):
        def __init__(self, ae):
            super().__init__()
            self.ae = ae  # the same module: parameters() lists each weight once

        def forward(self, z):
            return ModelOutput(reconstruction=self.ae.decode(z))

    ae = make_model(kind)
    model = AE(AEConfig(input_dim=(1, 28, 28), latent_dim=ae.code_size if kind == "dense" else 1),
               encoder=Encoder(ae), decoder=Decoder(ae))
    subset = x[: steps * batch_size]
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stderr(io.StringIO()):
        config = BaseTrainerConfig(
            output_dir=out, num_epochs=1, per_device_train_batch_size=batch_size, learning_rate=1e-3,
            optimizer_cls="Adam", no_cuda=x.device.type != "cuda",
        )
        start = time.perf_counter()
        trainer = BaseTrainer(model, BaseDataset(subset.cpu(), torch.zeros(len(subset))), training_config=config)
        trainer.train()
        sync(x.device)
        return steps * batch_size / (time.perf_counter() - start)


def pythae_available() -> str | None:
    """None when pythae imports, else why not."""
    try:
        import pythae  # noqa: F401
    except ImportError as err:
        return f"pythae is not installed ({err}); pip install --no-deps pythae pydantic imageio"
    return None


# --- the table -------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="training steps per timing")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many interleaved timings")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--workloads", nargs="+", default=["dense:128", "dense:256", "conv:128"])
    parser.add_argument("--bf16", action="store_true", help="also time aekit.fit with amp=bf16 (CPU autocast)")
    parser.add_argument("--no-pythae", action="store_true")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    x, data_name = load_train()
    x = x.to(device)  # every contender starts from the data on the device (pythae copies it back: its loader)
    why_no_pythae = "skipped (--no-pythae)" if args.no_pythae else pythae_available()
    contenders: dict[str, Callable[..., float]] = {
        "hand loop": hand_loop,
        "hand loop fused": lambda *a: hand_loop(*a, fused=True),
        "aekit.fit": aekit_fit,
    }
    if args.bf16:
        contenders["aekit.fit bf16"] = lambda *a: aekit_fit(*a, amp="bf16")
    if why_no_pythae is None:
        contenders["pythae"] = pythae_fit

    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{os.cpu_count()} CPUs"
    print(f"data: {data_name} ({len(x)} digits); torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{where}; load average {os.getloadavg()[0]:.1f} at start")
    if why_no_pythae:
        print(f"pythae: {why_no_pythae}")
    peak = peak_bf16 = 0.0
    rows = []
    for spec in args.workloads:
        kind, bs = spec.split(":")
        batch_size = int(bs)
        steps = min(args.steps, len(x) // batch_size)
        flops_per_sample = 6 * forward_macs(make_model(kind))
        best = dict.fromkeys(contenders, 0.0)
        for _ in range(args.repeats):  # interleaved, best of N: the machine is shared and noisy
            peak = max(peak, peak_gflops(device))
            if args.bf16:
                peak_bf16 = max(peak_bf16, peak_gflops(device, torch.bfloat16))
            for name, run in contenders.items():
                best[name] = max(best[name], run(kind, x, batch_size, steps))
        rows.append((kind, batch_size, steps, flops_per_sample, best))

    print(f"\ndense fp32 matmul peak (best of all repeats): {peak:.1f} GFLOP/s"
          + (f"; bf16: {peak_bf16:.1f} GFLOP/s" if args.bf16 else ""))
    print(f"load average at end: {os.getloadavg()[0]:.1f}\n")
    head = f"{'workload':<10} {'batch':>5} {'contender':<16} {'samples/s':>10} {'GFLOP/s':>8} {'% peak':>7}"
    print(head + f" {'aekit / this':>13}")
    print("-" * (len(head) + 14))
    for kind, batch_size, _steps, flops, best in rows:
        for name, rate in best.items():
            gflops = rate * flops / 1e9
            ref = peak_bf16 if name.endswith("bf16") else peak
            ratio = best["aekit.fit"] / rate
            print(f"{kind:<10} {batch_size:>5} {name:<16} {rate:>10.0f} {gflops:>8.1f} {100 * gflops / ref:>6.0f}%"
                  f" {ratio:>12.2f}x")
        print()
    print("goals: aekit.fit >= 0.95x the hand loop and >= 1.5x pythae; dense batch 256 >= 80% of peak")


if __name__ == "__main__":
    main()
