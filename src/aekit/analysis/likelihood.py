"""Importance-sampled test log-likelihood (Burda et al. 2016, section 5):

    -log p(x) ~= -log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x),  z_i ~ q(z | x),

for models with a probabilistic decoder and an amortised posterior, i.e. those with
`log_importance_weights(x, k)` (vae, iwae). The estimate is an upper bound on -log p(x) in
expectation that tightens as k grows; the IWAE paper uses k = 5000. For a Bernoulli decoder the data
are binarised once, each value drawn as a pixel's probability (seeded: a stochastic binarisation, as
in the paper), so the figure is in nats per binary image and comparable with its Table 1. At k = 1
(or with `negative_elbo`'s mean over draws) it is the negative ELBO.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from ..config import count
from ..data.batches import eval_mode, inputs_of, model_device, model_dtype
from ..data.core import progress_bar
from ..errors import ConfigError, DataError


def binarize(x: torch.Tensor, *, seed: int = 0) -> torch.Tensor:
    """One Bernoulli draw per pixel with the pixel's intensity as probability: (N, ...) -> same, in {0, 1}."""
    return torch.bernoulli(x.clamp(0, 1), generator=torch.Generator().manual_seed(seed))


def gaussian_nll(scaling: str | None = None) -> str:
    """What an NLL of inputs as they are (recon_loss mse) is, where it is shown: a density in the units of the inputs,
    `scaling` as metrics.json records it."""
    units = {"standard": "standardised values (each column to mean 0 and spread 1)", "none": "values as stored",
             "per column": "values scaled column by column to [0, 1]"}.get(scaling, "[0, 1]-scaled values")
    return f"under a Gaussian decoder of variance 1/2: a density of the {units}, not comparable with a Bernoulli NLL"

GREY_FOR_NLL = 0.1  # above this share of values in (0.25, 0.75), inputs are not near-binary (MNIST: 5 %, Fashion: 23 %)


def why_no_likelihood(model, data: torch.Tensor | None = None) -> str | None:
    """Why `importance_sampled_nll` does not apply to `model` (one line), or None when it does; with `data`,
    also where a Bernoulli decoder (bce) would be measured on values outside [0, 1] (which it refuses), or,
    not trained on binarised inputs, on data far from binary (GREY_FOR_NLL): binarising them measures other data."""
    if not callable(getattr(model, "log_importance_weights", None)):
        return f"model '{model.name}' has no probabilistic decoder and posterior (vae and iwae have)"
    if getattr(model, "conditional", False):
        return f"model '{model.name}' is conditional: its likelihood is p(x | label), not p(x)"
    if data is not None and model.config.recon_loss == "bce" and (data.min() < 0 or data.max() > 1):
        return f"the values span [{data.min():.3g}, {data.max():.3g}], and a Bernoulli decoder's NLL is of values in [0, 1]"
    if data is not None and model.config.recon_loss == "bce" and not getattr(model.config, "binarize", False):
        grey = float(((data > 0.25) & (data < 0.75)).float().mean())
        if grey > GREY_FOR_NLL:
            return (f"{grey:.0%} of the values lie between 0.25 and 0.75, and a Bernoulli decoder's NLL is of binarised "
                    "inputs (model.binarize=true trains on such; model.recon_loss=mse gives a Gaussian density of the "
                    "values as they are)")
    return None


def importance_sampled_nll(
    model,
    data: Any,
    *,
    k: int = 5000,  # importance samples per input (the IWAE paper's evaluation)
    binary: bool | None = None,  # binarise the data first (seeded); None: for a Bernoulli decoder (recon_loss bce)
    batch_size: int = 100,  # inputs per step
    chunk: int = 500,  # samples per decoder pass: chunk * batch_size decoded images at a time
    seed: int = 0,  # the draws of z (the binarisation is one fixed draw, the same for every seed)
    progress: bool = False,  # a progress bar over the batches (k = 5000 on 10,000 digits takes minutes on a CPU)
) -> torch.Tensor:
    """-log p(x) of every input, estimated with k importance samples: (N,) nats; `.mean()` is the test NLL."""
    return _per_input(model, data, k, binary=binary, batch_size=batch_size, chunk=chunk, seed=seed, progress=progress,
                      name="importance_sampled_nll", draws="k", what="test NLL", reduce=lambda w: torch.logsumexp(w, dim=0) - math.log(len(w)))


def negative_elbo(model, data: Any, *, samples: int = 20, binary: bool | None = None, batch_size: int = 100,
                  seed: int = 0) -> torch.Tensor:
    """-ELBO of every input, E_q[-log p(x|z)] + KL(q(z|x) || p(z)) estimated with `samples` draws of z ~ q(z|x):
    (N,) nats, an upper bound on -log p(x) in expectation. (A VAE's evaluation loss decodes the mean of q
    instead: deterministic, but neither this bound nor a likelihood.) `binary` as importance_sampled_nll's."""
    return _per_input(model, data, samples, binary=binary, batch_size=batch_size, chunk=samples, seed=seed,
                      progress=False, name="negative_elbo", draws="samples", what="negative ELBO", reduce=lambda w: w.mean(dim=0))


@torch.no_grad()
def _per_input(model, data: Any, k: int, *, binary: bool | None, batch_size: int, chunk: int, seed: int,
               progress: bool, name: str, draws: str, what: str, reduce) -> torch.Tensor:
    """-reduce(log importance weights of k draws) of every input: (N,); `name` starts its errors, `draws` names k
    in them, `what` starts its progress."""
    reason = why_no_likelihood(model)
    if reason is not None:
        raise ConfigError(f"{name}: {reason}")
    for key, value in ((draws, k), ("batch_size", batch_size), ("chunk", chunk)):
        count(key, value)
    count("seed", seed, 0)
    x, _ = inputs_of(model, data)
    binary = model.config.recon_loss == "bce" if binary is None else binary
    # binarize would clamp values outside [0, 1], and a BCE of them is no likelihood: a figure of other data
    if (binary or model.config.recon_loss == "bce") and (x.min() < 0 or x.max() > 1):
        raise DataError(f"data: values span [{x.min():.3g}, {x.max():.3g}], but a Bernoulli likelihood takes values in "
                        "[0, 1] (binary=True draws each as a probability); scale them to [0, 1] first (x / 255 for "
                        "8-bit images)")
    # two streams, z independent of the pixels; the binarisation seed 0's whatever `seed` is, so that runs of other
    # seeds measure the same binarised inputs (a bug hunt: 0.1-0.2 nats apart on 2,000 digits by the draw alone)
    binarizing, drawing = np.random.SeedSequence(0).generate_state(2)[0], np.random.SeedSequence(seed).generate_state(2)[1]
    if binary:
        x = binarize(x, seed=int(binarizing))
    device = model_device(model)
    generator = torch.Generator(device).manual_seed(int(drawing))
    out = []
    with eval_mode(model):
        batches = progress_bar(range(0, len(x), batch_size), desc=f"{what}, k = {k}", unit="batch", shown=progress,
                               dynamic_ncols=True, leave=False)
        began = said = time.perf_counter()
        for start in batches:
            if progress and batches.disable and time.perf_counter() - said >= 30:  # a log file has no bar: a line
                print(f"  {what}: {start:,} of {len(x):,} inputs ({time.perf_counter() - began:.0f} s)", flush=True)
                said = time.perf_counter()
            xb = x[start : start + batch_size].to(device, model_dtype(model))  # (a float64 model: float64 batches)
            posterior = model.posterior(xb)
            weights = [
                model.log_importance_weights(xb, min(chunk, k - done), posterior=posterior, generator=generator)
                for done in range(0, k, chunk)
            ]
            out.append(-reduce(torch.cat(weights)).cpu())
    return torch.cat(out)
