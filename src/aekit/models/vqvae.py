"""Vector-quantised autoencoder (VQ-VAE): the encoder's output is `positions` vectors, each replaced by
its nearest entry of a learned codebook, so a digit is coded as `positions` indices into `codebook_size`.

- Straight-through: the decoder sees the codebook vectors, the encoder gets the decoder's gradient
  as if quantisation were the identity (z_e + (z_q - z_e).detach()).
- Commitment loss `commitment * |z_e - sg(z_q)|^2` keeps the encoder close to its codes.
- The codebook is not trained by the optimiser: it follows exponential moving averages of the
  encoder outputs assigned to each entry (van den Oord et al. 2017, appendix A.1), updated in every
  training forward pass with gradients on (one per optimiser step). Entries whose moving count of
  assignments falls below `restart_below` are dead: they restart at random encoder outputs of the batch.
  The codebook starts at encoder outputs of the training data (`init_from_data`, called by `fit`).
  Under DDP, buffers follow rank 0 (DDP broadcasts them), so the averages see rank 0's batches only.
- The prior over indices is a first-order autoregressive (Markov) model: p(i_1) p(i_2|i_1) ...
  p(i_m|i_{m-1}), one transition table per position, counted from the training codes by `fit_prior`
  (exact maximum likelihood, add-`prior_smoothing`); before that it is uniform. The paper fits a PixelCNN over a 2-D grid of
  indices; a table of bigrams is the smallest model that still captures dependence between positions.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..config import check, count, layer_widths, non_negative, positive
from ..data.batches import eval_mode, inputs_of, map_batches, model_dtype
from ..errors import ConfigError
from ..registry import register_model
from .base import Activation, Autoencoder, AutoencoderConfig, Output, flatten, wide
from .dense import mlp


@dataclass(frozen=True, kw_only=True)
class VQVAEConfig(AutoencoderConfig):
    hidden: tuple[int, ...] = (512, 256)  # encoder widths; the decoder mirrors them
    activation: Activation = "relu"
    positions: int = 8  # code vectors per input (m): a digit becomes m indices
    embedding_dim: int = 16  # length of each code vector (D)
    codebook_size: int = 64  # entries in the codebook (K)
    commitment: float = 0.25  # beta in the paper
    ema_decay: float = 0.99  # gamma of the codebook's moving averages
    # an entry whose moving count of assignments per batch falls below this restarts (Jukebox's 1.0,
    # Dhariwal et al. 2020): on 1,024 digits it doubles the entries in use after 3 epochs (tests)
    restart_below: float = 1.0
    prior_smoothing: float = 0.1  # added to every count of the index prior

    def __post_init__(self) -> None:
        super().__post_init__()
        layer_widths("hidden", self.hidden)
        for key in ("positions", "embedding_dim", "codebook_size"):
            positive(key, getattr(self, key))
        non_negative("commitment", self.commitment)
        check(0 <= self.ema_decay < 1, "ema_decay", f"must be in [0, 1), got {self.ema_decay}")
        non_negative("restart_below", self.restart_below)
        positive("prior_smoothing", self.prior_smoothing)
        check(self.code_l2 == 0, "code_l2", "not available for vq-vae: its codes are codebook entries, which the "
              "penalty cannot move (the commitment term pulls the encoder's outputs to them)")


def full_precision(device_type: str):
    """Autocast off where it is on (amp): in half precision 1.5% of codes were not the nearest entry (a review)."""
    on = torch.is_autocast_enabled(device_type)
    return torch.autocast(device_type, enabled=False) if on else contextlib.nullcontext()


@register_model("vq-vae")
class VQVAE(Autoencoder):
    """Vector-quantised autoencoder: EMA codebook, commitment loss, dead-code restarts, Markov prior over indices.

    van den Oord, Vinyals & Kavukcuoglu (2017), Neural Discrete Representation Learning.
    """

    Config = VQVAEConfig

    def __init__(self, config: VQVAEConfig) -> None:
        super().__init__(config)
        m, d, k = config.positions, config.embedding_dim, config.codebook_size
        self.encoder = mlp([config.input_dim, *config.hidden, m * d], config.activation)  # (B, D_in) -> (B, m*d)
        self.decoder = mlp([m * d, *reversed(config.hidden), config.input_dim], config.activation)
        # the codebook and its moving averages: state, not parameters (no optimiser touches them)
        self.register_buffer("codebook", torch.randn(k, d))  # (K, d)
        self.register_buffer("ema_count", torch.ones(k))  # moving count of assignments per batch
        self.register_buffer("ema_sum", self.codebook.clone())  # moving sum of the assigned encoder outputs
        self.register_buffer("restarts", torch.zeros((), dtype=torch.long))  # dead entries restarted so far
        # the prior: counts of the first index and of index transitions between neighbouring positions
        self.register_buffer("prior_first", torch.zeros(k))  # (K,)
        self.register_buffer("prior_next", torch.zeros(m - 1, k, k))  # (m-1, K, K): [j, a, b] = #(i_j=a, i_j+1=b)

    @property
    def code_size(self) -> int:
        return self.config.positions * self.config.embedding_dim

    # --- quantisation ---------------------------------------------------------------------------
    def encode_continuous(self, x: Tensor) -> Tensor:
        """The encoder's output before quantisation: (B, *shape) -> (B, m, d)."""
        return self.encoder(flatten(x)).reshape(x.shape[0], self.config.positions, self.config.embedding_dim)

    def nearest(self, z_e: Tensor) -> Tensor:
        """Index of the nearest codebook entry of every vector: (B, m, d) -> (B, m)."""
        with full_precision(z_e.device.type):
            return self._nearest(z_e)

    def _nearest(self, z_e: Tensor) -> Tensor:
        flat, book = wide(z_e.detach()).reshape(-1, z_e.shape[-1]), wide(self.codebook)
        # squared distances as torch.cdist computes them for batches of over 25 vectors, written out: cdist
        # picks its method by the batch size, which an exported graph with a free batch size cannot follow
        x_norm, y_norm = flat.pow(2).sum(-1, keepdim=True), book.pow(2).sum(-1, keepdim=True)
        x = torch.cat([-2 * flat, x_norm, torch.ones_like(x_norm)], -1)
        y = torch.cat([book, torch.ones_like(y_norm), y_norm], -1)
        return (x @ y.T).clamp_min(1e-30).argmin(dim=1).reshape(z_e.shape[:-1])

    def code_indices(self, x: Tensor) -> Tensor:
        """The discrete code of every input: (B, *shape) -> (B, m) indices into the codebook."""
        return self.nearest(self.encode_continuous(x))

    def encode(self, x: Tensor) -> Tensor:
        """The quantised code, flat: (B, m * d), every d-block a codebook entry (up to rounding: the
        straight-through sum lets gradients reach the encoder, e.g. for a classifier on the codes)."""
        z_e = self.encode_continuous(x)
        return flatten(self.straight_through(z_e, self.codebook[self.nearest(z_e)]))

    @staticmethod
    def straight_through(z_e: Tensor, z_q: Tensor) -> Tensor:
        """z_q in the forward pass, the identity to z_e in the backward pass."""
        return z_e + (z_q.to(z_e.dtype) - z_e).detach()

    def decode_logits(self, z: Tensor) -> Tensor:
        return self.decoder(flatten(z)).reshape(z.shape[0], *self.config.input_shape)

    def forward(self, x: Tensor) -> Output:
        z_e = self.encode_continuous(x)  # (B, m, d)
        indices = self.nearest(z_e)  # (B, m)
        z_q = self.codebook[indices].to(z_e.dtype)  # (B, m, d): the entries assigned, before this step's update
        if self.training and torch.is_grad_enabled():
            with full_precision(z_e.device.type):
                self._update_codebook(z_e.detach().to(self.codebook.dtype), indices)
        logits = self.decode_logits(flatten(self.straight_through(z_e, z_q)))
        return Output(
            x_hat=self.activate_output(logits), z=flatten(z_q), logits=logits,
            extras={"z_e": z_e, "indices": indices},
        )

    @torch.no_grad()
    def _update_codebook(self, z_e: Tensor, indices: Tensor) -> None:
        """One EMA step of the codebook toward the mean of its assigned vectors; restart dead entries."""
        cfg = self.config
        flat = z_e.reshape(-1, z_e.shape[-1])  # (B*m, d)
        onehot = F.one_hot(indices.reshape(-1), cfg.codebook_size).to(z_e.dtype)  # (B*m, K)
        self.ema_count.mul_(cfg.ema_decay).add_((1 - cfg.ema_decay) * onehot.sum(0))
        # (not add_(..., alpha=): torch.compile's CPU code added a matmul so scaled wrongly, a hunt: compile=True learnt
        self.ema_sum.mul_(cfg.ema_decay).add_((1 - cfg.ema_decay) * (onehot.T @ flat))  # a worse codebook, unsaid)
        used = self.ema_count > 1e-12
        self.codebook[used] = self.ema_sum[used] / self.ema_count[used, None]
        dead = (self.ema_count < cfg.restart_below).nonzero().flatten()
        if len(dead):
            picks = flat[torch.randint(len(flat), (len(dead),), device=flat.device)]
            self.codebook[dead] = picks
            self.ema_sum[dead] = picks
            self.ema_count[dead] = 1.0
            self.restarts += len(dead)

    @torch.no_grad()
    def init_from_data(self, x: Tensor, *, seed: int = 0) -> None:
        """Start the codebook at encoder outputs of random training inputs (called by `fit` on a new run); a
        no-op once trained (its moving counts, all 1 at the start, have moved): a second `fit` continues."""
        if not bool((self.ema_count == 1).all()):
            return
        g = torch.Generator().manual_seed(seed)
        rows = torch.randint(len(x), (self.config.codebook_size,), generator=g).sort().values
        sample = torch.as_tensor(x[rows]).to(self.codebook.device, self.codebook.dtype)  # a memmap reads just these rows
        z_e = self.encode_continuous(sample.reshape(len(rows), *self.config.input_shape))
        picks = z_e[torch.arange(len(rows)), torch.randint(self.config.positions, (len(rows),), generator=g)]
        self.codebook.copy_(picks)
        self.ema_sum.copy_(self.codebook)
        self.ema_count.fill_(1.0)

    # --- loss -----------------------------------------------------------------------------------
    def penalties(self, x: Tensor, output: Output) -> dict[str, Tensor]:
        z_e, z_q = wide(output.extras["z_e"]), wide(output.z).reshape(output.extras["z_e"].shape)
        commit = (z_e - z_q.detach()).pow(2).sum(dim=(1, 2)).mean()
        return {**super().penalties(x, output), "commitment": self.config.commitment * commit}

    def loss(self, x: Tensor, output: Output, *, y: Tensor | None = None) -> dict[str, Tensor]:
        """The base loss (recon + commitment + ...) and "perplexity": exp(entropy of the batch's index
        use), from 1 (one entry used) to codebook_size (all used alike); logged, not minimised."""
        counts = torch.bincount(output.extras["indices"].reshape(-1), minlength=self.config.codebook_size)
        p = counts.float() / counts.sum()
        perplexity = torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum())
        return {**super().loss(x, output, y=y), "perplexity": perplexity}

    # --- the prior over indices -----------------------------------------------------------------
    @torch.no_grad()
    def fit_prior(self, data: Any, *, batch_size: int = 1024) -> VQVAE:
        """Count the training codes' first indices and transitions (the Markov prior); returns self."""
        x, _ = inputs_of(self, data, "data")
        indices = map_batches(self, x, lambda xb: self.code_indices(xb).float(), batch_size=batch_size).long()
        k = self.config.codebook_size
        self.prior_first.copy_(torch.bincount(indices[:, 0], minlength=k).float())
        for j in range(self.config.positions - 1):
            pairs = indices[:, j] * k + indices[:, j + 1]
            self.prior_next[j].copy_(torch.bincount(pairs, minlength=k * k).reshape(k, k).float())
        return self

    @torch.no_grad()
    def sample_indices(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """n codes drawn from the prior: (n, m) indices; uniform until `fit_prior` counts the training codes."""
        count("n", n)
        alpha = self.config.prior_smoothing
        device = generator.device if generator is not None else torch.device("cpu")  # draws where the generator is
        first = torch.multinomial((self.prior_first + alpha).to(device), n, replacement=True, generator=generator)
        out = [first]
        for j in range(self.config.positions - 1):
            rows = (self.prior_next[j].to(device) + alpha)[out[-1]]  # (n, K): p(i_j+1 | i_j) up to a constant
            out.append(torch.multinomial(rows, 1, generator=generator).squeeze(1))
        return torch.stack(out, dim=1).to(self.codebook.device)

    @property
    def prior_fitted(self) -> bool:
        """Whether `fit_prior` has counted training codes (a model saved after it keeps them)."""
        return bool(self.prior_first.any())

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """n new samples: codes from the Markov prior, decoded: (n, *input_shape). Refused before `fit_prior`:
        codes drawn uniformly decode to noise, which would pass for what the model generates."""
        if not self.prior_fitted:
            raise ConfigError("vq-vae: its prior over code indices is not fitted yet; call model.fit_prior(training "
                             "data) after training, then sample (aekit evaluate and the generative experiments do)")
        indices = self.sample_indices(n, generator=generator)
        with eval_mode(self):
            return self.decode(self.codebook[indices].reshape(n, -1).to(model_dtype(self)))
