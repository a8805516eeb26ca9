"""The Autoencoder contract every model follows, and the pieces models share.

encode(x) -> z, decode(z) -> x_hat, forward(x) -> Output, loss(x, output, *, y=None) -> dict with "loss".
The trainer, analysis tools, CLI and sklearn estimator use only this contract.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import check, check_types, non_negative
from ..data.batches import check_shape, encode_all, reconstruct_all
from ..data.core import all_finite, not_finite
from ..errors import AekitError, ConfigError, DataError

Activation = Literal["relu", "elu", "sigmoid", "tanh", "linear", "leaky_relu"]


@dataclass(frozen=True, kw_only=True)
class AutoencoderConfig:
    """Keys every autoencoder shares."""

    input_shape: tuple[int, ...]  # one sample's shape, e.g. (784,) or (1, 28, 28); set from the data
    recon_loss: Literal["bce", "mse"] = "bce"  # bce is computed from logits, so needs sigmoid outputs
    output_activation: Literal["sigmoid", "linear"] = "sigmoid"  # sigmoid for inputs in [0, 1]; linear for others
    weight_l2: float = 0.0  # L2 penalty on weight matrices (not biases), added to the loss
    code_l2: float = 0.0  # L2 penalty on the code, keeps codes near zero

    def __post_init__(self) -> None:
        check_types(self)
        check(len(self.input_shape) > 0, "input_shape", "must have at least one dimension")
        check(all(d > 0 for d in self.input_shape), "input_shape", f"sizes must be > 0, got {self.input_shape}")
        check(
            not (self.recon_loss == "bce" and self.output_activation != "sigmoid"),
            "recon_loss",
            "'bce' needs output_activation 'sigmoid'; use recon_loss 'mse' for linear outputs",
        )
        non_negative("weight_l2", self.weight_l2)
        non_negative("code_l2", self.code_l2)

    @property
    def input_dim(self) -> int:
        return math.prod(self.input_shape)


@dataclass(eq=False)  # (as Dataset: == by identity, not tensors compared field by field)
class Output:
    """What `forward` returns."""

    x_hat: Tensor  # reconstruction, shaped as the model's input_shape (a flat input gets it back as images)
    z: Tensor  # the code
    logits: Tensor | None = None  # pre-activation of x_hat, for BCE with logits
    extras: dict[str, Any] = field(default_factory=dict)  # model-specific (mu, logvar, ...)


torch.export.register_dataclass(Output, serialized_type_name="aekit.Output")  # torch.export and pytree see its tensors


def activation(name: str) -> nn.Module:
    return {
        "relu": nn.ReLU(),
        "elu": nn.ELU(),
        "sigmoid": nn.Sigmoid(),
        "tanh": nn.Tanh(),
        "linear": nn.Identity(),
        "leaky_relu": nn.LeakyReLU(0.2),
    }[name]


class Autoencoder(nn.Module):
    """Base class. Subclasses set `Config` and implement `encode` and `decode_logits`."""

    Config: ClassVar[type[AutoencoderConfig]] = AutoencoderConfig
    name: ClassVar[str] = "autoencoder"
    # True for models conditioned on labels (cvae): the trainer calls forward(x, y=labels) (labels or
    # None), and `check_labels(y)` once per fit. Without labels they must still encode and decode.
    conditional: ClassVar[bool] = False

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        self.config = config

    # --- the contract -------------------------------------------------------------------------
    def encode(self, x: Tensor) -> Tensor:
        """The code of a batch `x` (B, *input_shape): (B, code_size) for the dense family (a VAE's mean)."""
        raise NotImplementedError

    def decode_logits(self, z: Tensor) -> Tensor:
        """Decoder output before the output activation, shaped like the input."""
        raise NotImplementedError

    def decode(self, z: Tensor) -> Tensor:
        """The reconstruction of codes `z`, shaped like the input, after the output activation."""
        return self.activate_output(self.decode_logits(z))

    def forward(self, x: Tensor) -> Output:
        """Encode and decode a batch: an `Output` (x_hat, z, logits, extras) that `loss(x, output)` takes."""
        z = self.encode(x)
        logits = self.decode_logits(z)
        return Output(x_hat=self.activate_output(logits), z=z, logits=logits)

    def loss(self, x: Tensor, output: Output, *, y: Tensor | None = None) -> dict[str, Tensor]:
        """{"loss": what the trainer minimises, "recon": ..., one entry per penalty}."""
        recon = self.reconstruction_loss(x, output)
        penalties = self.penalties(x, output)
        return {"loss": sum(penalties.values(), recon), "recon": recon, **penalties}

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        """The parameters of each optimiser, keyed by the loss entry it minimises; "loss" comes first.

        One optimiser for everything by default. A model with more (aae: autoencoder and
        discriminator) lists each; per batch `fit` steps them in this order, each after its own
        forward pass and `loss` call, so every step sees the previous one's update (alternating)."""
        return {"loss": list(self.parameters())}

    def init_from_data(self, x: Tensor, *, seed: int = 0) -> None:
        """Data-dependent initialisation, called by `fit` before the first step of a new run (not on
        resume) with the training inputs (a seeded sample of memory-mapped data). Default: nothing."""

    # --- shared pieces ----------------------------------------------------------------------------
    def activate_output(self, logits: Tensor) -> Tensor:
        """The reconstruction from the decoder's raw outputs: sigmoid or as they are, by output_activation."""
        return torch.sigmoid(logits) if self.config.output_activation == "sigmoid" else logits

    def reconstruction_loss(self, x: Tensor, output: Output) -> Tensor:
        """Summed over a sample's features, averaged over the batch (so MSE is squared error per sample)."""
        logits = output.logits
        if logits is None:  # an Output made by hand, with x_hat only
            sigmoid = self.config.output_activation == "sigmoid"
            logits = torch.logit(output.x_hat, eps=1e-6) if sigmoid else output.x_hat
        return self.reconstruction_error(x, logits).mean()

    def reconstruction_error(self, x: Tensor, logits: Tensor) -> Tensor:
        """Per-sample error summed over features, of logits (B, ...) against x (B, ...): (B,).

        It is -log p(x | z) of the decoder's likelihood up to a constant: Bernoulli for bce (no constant),
        Gaussian with variance 1/2 for mse (the constant is D/2 * log(pi), see `decoder_log_constant`).
        """
        logits = wide(flatten(logits))  # the model's precision, float32 at least
        target = flatten(x).to(logits.dtype)
        if self.config.recon_loss == "bce":
            per_elem = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        else:
            per_elem = (self.activate_output(logits) - target) ** 2
        return per_elem.sum(dim=1)

    def decoder_log_constant(self) -> float:
        """log p(x|z) = -reconstruction_error - this: 0 for Bernoulli, D/2 log(pi) for mse's Gaussian (var 1/2)."""
        return 0.0 if self.config.recon_loss == "bce" else 0.5 * self.config.input_dim * math.log(math.pi)

    def penalties(self, x: Tensor, output: Output) -> dict[str, Tensor]:
        """Extra loss terms; subclasses extend this with `{**super().penalties(x, output), ...}`."""
        terms: dict[str, Tensor] = {}
        if self.config.weight_l2 > 0:
            terms["weight_l2"] = self.config.weight_l2 * sum(
                (w**2).sum() for w in self.penalised_weights()
            )
        if self.config.code_l2 > 0:
            # a feature-map code (B, C, h, w) counts like any code: summed over all its features
            terms["code_l2"] = self.config.code_l2 * (wide(output.z) ** 2).flatten(1).sum(dim=1).mean()
        return terms

    def penalised_weights(self) -> list[Tensor]:
        """Weight matrices the L2 penalty applies to (not biases, not norm scales)."""
        layers = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d)
        return [m.weight for m in self.modules() if isinstance(m, layers)]

    def check_data(self, x: Tensor) -> None:
        """Raise DataError when `x` (N, *input_shape) cannot be fed to this model."""
        check_samples(x, self.config.input_shape, recon_loss=self.config.recon_loss)

    # --- using a trained model ----------------------------------------------------------------------
    def encode_array(self, x: Any, *, batch_size: int = 1024) -> np.ndarray:
        """Codes (N, code_size) of any amount of data (tensor, numpy array or Dataset) as a numpy
        array: in batches on the model's device, in eval mode, without gradients."""
        return encode_all(self, x, batch_size=batch_size)

    def reconstruct_array(self, x: Any, *, batch_size: int = 1024) -> np.ndarray:
        """Reconstructions as a numpy array, like `encode_array`, shaped as `x` was given ((N, *input_shape) for a
        Dataset; (N, H, W) images of a (1, H, W) model come back (N, H, W), flat rows flat, one sample (1, ...))."""
        return reconstruct_all(self, x, batch_size=batch_size)

    @property
    def code_size(self) -> int:
        """The number of values in a code."""
        return int(self.config.code_size)

    def num_parameters(self) -> int:
        """How many weights the model has."""
        return sum(p.numel() for p in self.parameters())


def check_contract(model: Autoencoder, x: Tensor, y: Tensor | None = None) -> None:
    """Refuse a model of your own that breaks the contract, naming the method, from its forward pass and loss
    on a few samples `x` (in eval mode, given back in its mode; with gradients, which a loss may take). Before, a decode_logits of
    flat (B, D) logits trained to the end and failed at the evaluation, and a method left out said
    NotImplementedError with no name."""
    what, shape = f"model: {model.name}", tuple(x.shape)
    missing = [m for m in ("encode", "decode_logits") if getattr(type(model), m) is getattr(Autoencoder, m)]
    if missing:
        raise ConfigError(f"{what} does not implement {' and '.join(missing)}; a model implements encode and decode_logits")
    try:
        inspect.signature(model.loss).bind(x, None, y=None)
    except TypeError:  # (an extension trial: the README's `loss(x, output)` failed in training on y=)
        raise ConfigError(f"{what}: loss must take (x, output, *, y=None), y the labels or None; got "
                          f"loss{inspect.signature(model.loss)}") from None
    device = next(model.parameters()).device
    x, y = x.to(device), None if y is None else y.to(device)
    training = model.training
    model.eval()
    step = "encode"  # the method running, named if it raises (a contributor trial: "RuntimeError ... (unexpected)")
    try:  # (a loss of one's own may take torch.autograd.grad, as a contractive penalty does)
        z = model.encode(x, y=y) if model.conditional else model.encode(x)
        if not isinstance(z, Tensor) or z.ndim < 2 or len(z) != len(x):
            got = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
            raise ConfigError(f"{what}: encode must return one code a sample, shaped (batch, ...), got {got} for "
                              f"{len(x)} samples")
        step = "forward"
        out = model(x, y=y) if model.conditional else model(x)
        if not isinstance(out, Output):
            raise ConfigError(f"{what}: forward must return an aekit.models.base.Output, got {type(out).__name__}")
        for name, t in (("x_hat", out.x_hat), ("logits", out.logits)):
            if t is not None and (not isinstance(t, Tensor) or tuple(t.shape) != shape):
                got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise ConfigError(f"{what}: its {name} must be shaped like its input, {shape}, got {got}; "
                                  "decode_logits returns each sample's reconstruction in the input's shape")
        step = "loss"
        terms = model.loss(x, out, y=y)
    except (RuntimeError, TypeError, ValueError, IndexError, KeyError, AttributeError) as err:
        if isinstance(err, (AekitError, torch.cuda.OutOfMemoryError)) or "out of memory" in str(err):
            raise  # (said as they are: a refusal of its own, memory by the CLI)
        line = (str(err).strip().splitlines() or [""])[0]
        raise ConfigError(f"{what}: its {step} raised {type(err).__name__} on two training samples of shape "
                          f"{tuple(x.shape)}: {line}; --debug shows where") from err
    finally:
        model.train(training)
    if not isinstance(terms, dict) or "loss" not in terms:
        got = f"keys {sorted(terms)}" if isinstance(terms, dict) else type(terms).__name__
        raise ConfigError(f"{what}: loss must return a dict with a 'loss' entry (what training minimises), got {got}")
    bad = next(((k, v) for k, v in terms.items() if not isinstance(v, Tensor) or v.numel() != 1), None)
    if bad:
        got = f"{bad[1].numel()} values" if isinstance(bad[1], Tensor) else f"a {type(bad[1]).__name__}"
        raise ConfigError(f"{what}: loss's {bad[0]!r} entry must be a tensor of one value (a mean over the batch), "
                          f"got {got}")
    if not torch.isfinite(terms["loss"].detach()).all():  # (the finite data were blamed, "scale them")
        raise ConfigError(f"{what}: its loss is {terms['loss'].item()} on two training samples before any step (their "
                          f"values are finite, the largest {x.abs().max().item():.3g} in size): look at its forward and "
                          "loss (a log of 0, a division by zero)")


def check_samples(x: Tensor, input_shape: tuple[int, ...], *, recon_loss: str | None = None) -> None:
    """Raise DataError unless `x` is a non-empty, finite batch of samples of `input_shape` (as
    `check_shape` reads them), in [0, 1] for recon_loss "bce"."""
    check_shape(tuple(x.shape[1:]) if x.ndim >= 2 else (), tuple(input_shape))
    if x.shape[0] == 0:
        raise DataError("the data set is empty")
    if not all_finite(x):
        raise not_finite(x)
    if recon_loss == "bce" and (x.min() < 0 or x.max() > 1):
        raise DataError(
            f"recon_loss 'bce' needs data in [0, 1] but values span [{x.min().item():.3g}, "
            f"{x.max().item():.3g}]; use recon_loss 'mse', or give data in [0, 1]"
        )


def flatten(x: Tensor) -> Tensor:
    """(B, *shape) -> (B, prod(shape)), an empty batch too"""
    return tensor_input(x).flatten(1)


def tensor_input(x: Tensor) -> Tensor:
    """`x`, refused in one line where it is a numpy array or a list (not numpy's or torch's error from inside the
    model); a torch.fx Proxy, say, goes on."""
    if isinstance(x, (np.ndarray, list, tuple)):
        raise DataError(f"a model takes a torch tensor, got {type(x).__name__}; encode_array and reconstruct_array take "
                        "numpy arrays (and data sets) as they are")
    return x


def wide(t: Tensor) -> Tensor:
    """`t` in float32 at least, for a loss: half precision (autocast's) widened, float64 (`model.double()`) kept."""
    return t if t.dtype == torch.float64 else t.float()
