"""Semi-supervised VAE M2, and M1+M2 (Kingma, Rezende, Mohamed & Welling 2014).

M2 is a generative model p(y) p(z) p(x | y, z) with a uniform p(y), z ~ N(0, I), and three MLPs:
the classifier q(y | x) (softmax), the encoder q(z | x, y) (Gaussian) and the decoder p(x | y, z).
The label is a latent variable observed on some rows only (-1 elsewhere, as in `sklearn.semi_supervised`):

    labelled row:    L(x, y) = -ELBO(x, y) = -log p(x | y, z) + KL(q(z | x, y) || N(0, I)) + log n_classes
    unlabelled row:  U(x)    = sum_y q(y | x) L(x, y) - H(q(y | x))
    loss = mean over the batch's rows of L or U  +  alpha * mean over its labelled rows of -log q(y | x)

`forward(x)` runs the classifier only (what `predict` needs); `loss` evaluates L(x, y) for every
row and every label in one batched pass (B * n_classes rows through encoder and decoder) and takes
the true label's column on labelled rows, the q(y|x)-weighted sum on unlabelled ones. The
cross-entropy ignores the -1 rows (`ignore_index`), so they never reach it.

alpha: Kingma et al. write the objective as sums over the data set, J = sum_l L + sum_u U + alpha' *
E_labelled[-log q(y|x)] with alpha' = 0.1 N, and their code weights each labelled row's -log q by
0.1 * N / N_labelled. Divided by N that is exactly this module's loss with alpha = 0.1 (the default),
when batches hold labelled rows in the data set's share (the plain shuffled order). With mixed
batches (`TrainConfig.labelled_per_batch`, labelled share s per batch) the cross-entropy is still a
mean over the labelled rows, so alpha keeps its weight against the unlabelled bound (alpha : 1 - s);
only the labelled rows' own bound weighs s instead of N_labelled / N, which changes no gradient of the
classifier. Raise alpha to lean more on the labels (a larger share of the gradient of q(y|x)).

M1+M2: `M2.on(m1, n_classes)` stacks M2 on a trained autoencoder M1 (aekit's "vae" in the paper; any
registered autoencoder works, its `encode` gives the features). The model keeps a frozen copy of M1
inside (`self.m1`, no gradients, always in eval mode), maps x -> h = M1.encode(x) (the posterior
mean of a VAE) and runs M2 on h, so it trains with `aekit.fit` and predicts on raw pixels. The
config records M1's registered name and config (`m1`, `m1_config`), so `create_model` / `load_model`
rebuild the copy and the checkpoint holds its weights. Codes are not in [0, 1]: M2 on them uses a
Gaussian likelihood, "mse" (fixed variance 1/2) or "gaussian" (the decoder also predicts a
per-feature log-variance, as in Kingma et al.'s code). Their code also feeds M2 fresh draws from
M1's q(z | x) in training, not the means: `m1_sample=True` (needs an M1 with `posterior`, a VAE).
On a VAE, `M2.on` defaults to theirs, "gaussian" with `m1_sample=True` (on MNIST with 100 labels
4.18 % test error against 6.84 % with "mse" on the means, docs/EXPERIMENTS.md); on other models to
"mse". Learn the variance only with sampling or on features with noise: on constant features (a
VAE's inactive units) a learnt variance shrinks without bound.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import check, check_types, layer_widths, non_negative, positive, to_dict
from ..data.batches import model_device, model_dtype
from ..registry import create_model, make_config, model_entry, register_model
from .base import Activation, Autoencoder, check_samples, flatten, wide
from .classifier import ClassifierMixin, labelled_terms
from .dense import mlp
from .vae import gaussian_kl


@dataclass(frozen=True, kw_only=True)
class M2Config:
    input_shape: tuple[int, ...]  # one raw sample's shape, e.g. (1, 28, 28); with M1 it is M1's input shape
    n_classes: int  # labels are 0 .. n_classes - 1, and -1 for unlabelled rows
    hidden: tuple[int, ...] = (500,)  # hidden widths of each of the three networks (the paper: one layer of 500)
    code_size: int = 50  # dimensions of z
    activation: Activation = "relu"  # hidden layers (the paper used softplus)
    # likelihood p(x | y, z): bce = Bernoulli (pixels in [0, 1]); mse = Gaussian with variance 1/2;
    # gaussian = Gaussian whose per-feature log-variance the decoder predicts too
    recon_loss: Literal["bce", "mse", "gaussian"] = "bce"
    alpha: float = 0.1  # weight of the labelled rows' mean cross-entropy; 0.1 = the paper's 0.1 N (see above)
    m1: str | None = None  # M1+M2: the registered autoencoder whose codes M2 models (None: M2 on the inputs)
    m1_config: dict[str, Any] | None = None  # that model's config, input_shape included
    m1_sample: bool = False  # M1+M2: in training feed draws from M1's q(z | x) instead of its means

    def __post_init__(self) -> None:
        check_types(self)
        check(len(self.input_shape) > 0 and all(d > 0 for d in self.input_shape), "input_shape",
              f"sizes must be > 0, got {self.input_shape}")
        check(self.n_classes >= 2, "n_classes", f"must be an integer >= 2, got {self.n_classes!r}")
        layer_widths("hidden", self.hidden)
        positive("code_size", self.code_size)
        non_negative("alpha", self.alpha)
        check((self.m1 is None) == (self.m1_config is None), "m1", "give m1 and m1_config together (or neither)")
        if self.m1 is not None:
            m1_shape = tuple(self.m1_config.get("input_shape", ()))
            check(m1_shape == tuple(self.input_shape), "input_shape",
                  f"must equal m1_config's input_shape {m1_shape}, got {self.input_shape}")
            check(self.recon_loss != "bce", "recon_loss",
                  "'bce' needs features in [0, 1] but M1's codes are not; choose 'mse' or 'gaussian'")
        check(not self.m1_sample or self.m1 is not None, "m1_sample", "needs an M1 model (m1 and m1_config)")
        check(not self.m1_sample or hasattr(model_entry(self.m1).cls, "posterior"), "m1_sample",
              f"model '{self.m1}' has no Gaussian posterior to draw from; use a VAE as M1 or set it to false")

    @property
    def input_dim(self) -> int:
        return math.prod(self.input_shape)


@dataclass(eq=False)  # (== by identity, as Output)
class M2Output:
    """What `M2.forward` returns."""

    logits: Tensor  # (B, n_classes), the classifier q(y | x) before the softmax
    features: Tensor  # (B, d), what M2 models: the flattened input, or M1's codes


torch.export.register_dataclass(M2Output, serialized_type_name="aekit.M2Output")  # (as Output: a hunt, torch.export refused it)


def semi_supervised_terms(neg_elbo: Tensor, logits: Tensor, y: Tensor) -> dict[str, Tensor]:
    """Combine the per-label bounds into M2's terms; y holds -1 on unlabelled rows.

    neg_elbo (B, C): L(x, y) for every row and label; logits (B, C): q(y | x). Returns means over the
    batch: "bound" (L on labelled rows, U = sum_y q L - H(q) on the others), "supervised" (the
    cross-entropy, mean over labelled rows, 0 without any) and "error" (their misclassified share)."""
    own = neg_elbo.gather(1, y.clamp(min=0).unsqueeze(1)).squeeze(1)  # (B,) L(x, y) at the given label
    log_q = F.log_softmax(logits, dim=1)
    unlabelled = (log_q.exp() * (neg_elbo + log_q)).sum(dim=1)  # (B,) sum_y q (L + log q) = E_q[L] - H(q)
    bound = torch.where(y >= 0, own, unlabelled).mean()
    supervised, error = labelled_terms(logits, logits, y)
    return {"bound": bound, "supervised": supervised, "error": error}


@register_model("m2", kind="semi-supervised")
class M2(ClassifierMixin, nn.Module):
    """Semi-supervised VAE M2: classifier q(y|x), encoder q(z|x,y), decoder p(x|y,z); also on an M1 encoder.

    Kingma, Rezende, Mohamed & Welling (2014), Semi-supervised Learning with Deep Generative Models.
    """

    Config = M2Config
    takes_unlabelled = True

    def __init__(self, config: M2Config, *, m1: Autoencoder | None = None) -> None:
        super().__init__()
        self.config = config
        self.n_classes = c = config.n_classes
        d = config.input_dim
        if config.m1 is not None:
            m1 = create_model(config.m1, **config.m1_config) if m1 is None else copy.deepcopy(m1)
            m1.requires_grad_(False).eval()
            with torch.no_grad():  # the code size, from one dry run (codes may be feature maps)
                d = int(m1.encode(torch.zeros(1, *config.input_shape, device=model_device(m1), dtype=model_dtype(m1))).numel())
        self.m1 = m1 if config.m1 is not None else None  # frozen copy of M1
        # kept in eval mode by `train`: no dropout, batch norm's running statistics, codes = posterior means
        self.frozen = [] if self.m1 is None else [self.m1]
        k, hidden = config.code_size, list(config.hidden)
        out = 2 * d if config.recon_loss == "gaussian" else d  # mean (and log-variance) per feature
        self.classifier = mlp([d, *hidden, c], config.activation)  # (B, d) -> (B, C) logits of q(y|x)
        self.encoder = mlp([d + c, *hidden, 2 * k], config.activation)  # (B, d + C) -> (B, 2k): mu, logvar
        self.decoder = mlp([k + c, *reversed(hidden), out], config.activation)  # (B, k + C) -> (B, out)

    @classmethod
    def on(cls, m1: Autoencoder, n_classes: int, **config: Any) -> M2:
        """M1+M2: M2 on the codes of a copy of the trained autoencoder `m1` (frozen); `config`: M2's keys."""
        return cls(cls.config_on(m1.name, to_dict(m1.config), n_classes, config), m1=m1).to(model_dtype(m1))

    @classmethod
    def config_on(cls, m1: str, m1_config: dict[str, Any], n_classes: int, config: dict[str, Any],
                  where: str = "model") -> M2Config:
        """The checked config of M2 on the codes of registered model `m1` (config `m1_config`), with
        Kingma et al.'s defaults on a VAE (draws of its q(z | x), a learnt variance), else "mse"."""
        sample = config.get("m1_sample", hasattr(model_entry(m1).cls, "posterior"))
        values = {"recon_loss": "gaussian" if sample else "mse", **config, "m1_sample": sample,
                  "input_shape": tuple(m1_config["input_shape"]), "n_classes": n_classes, "m1": m1, "m1_config": m1_config}
        return make_config(cls.name, values, where)

    # --- the trainer's contract -------------------------------------------------------------------
    def check_data(self, x: Tensor) -> None:
        """Raise DataError when `x` (N, *input_shape) cannot be fed to this model."""
        if self.m1 is not None:
            self.m1.check_data(x)
        else:
            check_samples(x, self.config.input_shape, recon_loss=self.config.recon_loss)

    def features(self, x: Tensor) -> Tensor:
        """What M2 models: (B, *input_shape) -> (B, d), the flat input or M1's codes (no gradient)."""
        if self.m1 is None:
            return flatten(x)
        with torch.no_grad():
            if self.training and self.config.m1_sample:
                mu, logvar = self.m1.posterior(x)
                return flatten(mu + torch.exp(0.5 * logvar) * torch.randn_like(mu))
            return flatten(self.m1.encode(x))

    def forward(self, x: Tensor) -> M2Output:
        h = self.features(x)
        return M2Output(logits=self.classifier(h), features=h)

    def loss(self, x: Tensor, output: M2Output, *, y: Tensor | None = None) -> dict[str, Tensor]:
        """{"loss", "error", "supervised": cross-entropy of the labelled rows, "neg_elbo": mean of L and U}.

        y=None: every row unlabelled. Labels are checked by `check_labels` (once, in `aekit.fit`)."""
        logits = wide(output.logits)
        if y is None:
            y = torch.full((logits.shape[0],), -1, dtype=torch.long, device=logits.device)
        terms = semi_supervised_terms(self.neg_elbo(output.features), logits, y.long())
        loss = terms["bound"] + self.config.alpha * terms["supervised"]
        return {"loss": loss, "error": terms["error"], "supervised": terms["supervised"], "neg_elbo": terms["bound"]}

    def neg_elbo(self, h: Tensor) -> Tensor:
        """L(x, y) = -ELBO(x, y) of features h for every label y at once: (B, d) -> (B, C).

        Row b * C + y of the enumerated batch is sample b with label y. Training draws one
        z ~ q(z | x, y) per row (reparameterised); eval mode decodes the mean, like the vae."""
        b, c = h.shape[0], self.n_classes
        onehot = torch.eye(c, dtype=h.dtype, device=h.device).repeat(b, 1)  # (B * C, C)
        hh = h.repeat_interleave(c, dim=0)  # (B * C, d)
        mu, logvar = self.encoder(torch.cat([hh, onehot], dim=1)).chunk(2, dim=1)  # each (B * C, k)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.training else mu
        out = self.decoder(torch.cat([z, onehot], dim=1))  # (B * C, d) or (B * C, 2d)
        nll = self.neg_log_likelihood(hh, out)
        kl = gaussian_kl(wide(mu), wide(logvar))
        return (nll + kl + math.log(c)).reshape(b, c)  # + log C: -log p(y) of the uniform label prior

    def neg_log_likelihood(self, h: Tensor, out: Tensor) -> Tensor:
        """-log p(h | y, z) per row, summed over features: (N, d), decoder output (N, d or 2d) -> (N,)."""
        h, out = wide(h), wide(out)
        if self.config.recon_loss == "bce":
            return F.binary_cross_entropy_with_logits(out, h, reduction="none").sum(dim=1)
        if self.config.recon_loss == "mse":  # N(mean, 1/2): (h - mean)^2 + log(pi) / 2 per feature
            return ((h - out) ** 2 + 0.5 * math.log(math.pi)).sum(dim=1)
        mean, logvar = out.chunk(2, dim=1)
        return 0.5 * ((h - mean) ** 2 * torch.exp(-logvar) + logvar + math.log(2 * math.pi)).sum(dim=1)
