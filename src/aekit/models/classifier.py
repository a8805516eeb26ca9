"""An autoencoder's encoder with a softmax head, trained by the same `aekit.fit` as the autoencoders.

`EncoderClassifier` follows the trainer's contract (`check_data`, `forward -> output`,
`loss(x, output, y=y) -> dict`) without being an Autoencoder. It is registered as
"encoder-classifier" of kind "classifier" (`list_models()` lists the autoencoders), so checkpoints
rebuild it like every model and `fit(run_dir=...)`, resume and `aekit.load_model` work. Its loss
dict holds the cross-entropy ("loss"), "accuracy" and "error" (1 - accuracy); the trainer logs them
as train_/val_ entries: the trainer's `monitor` takes any of them (an accuracy is best highest, the rest
lowest).
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import check, check_types, to_dict
from ..data.batches import as_tensors, eval_mode, inputs_of, map_batches, model_dtype
from ..data.core import Dataset
from ..errors import ConfigError, DataError
from ..registry import create_model, make_config, register_model
from .base import Autoencoder, wide

_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)  # what counts as "a layer" for freeze=k


@dataclass(eq=False)  # (== by identity, as Output)
class ClassifierOutput:
    """What `EncoderClassifier.forward` returns."""

    logits: Tensor  # (B, n_classes), before the softmax
    z: Tensor  # (B, code_size), the encoder's output (flattened when it is a feature map)


torch.export.register_dataclass(ClassifierOutput, serialized_type_name="aekit.ClassifierOutput")  # (as Output: a hunt, torch.export refused it)


@dataclass(frozen=True, kw_only=True)
class ClassifierConfig:
    autoencoder: str  # the registered autoencoder whose encoder feeds the head (`aekit models`)
    autoencoder_config: dict[str, Any]  # that model's keys, input_shape included
    n_classes: int
    freeze: Literal["all", "none"] | int = "none"  # all: train the head only; k: freeze the first k encoder layers

    def __post_init__(self) -> None:
        check_types(self)
        check(self.n_classes >= 2, "n_classes", f"must be an integer >= 2, got {self.n_classes!r}")


if TYPE_CHECKING:  # what a type checker sees: the classifiers are modules (a review: create_model("m2").eval() was
    _Module = nn.Module  # "ClassifierMixin has no attribute eval" under mypy)
else:
    _Module = object


class ClassifierMixin(_Module):
    """`predict_proba`, `predict` and `accuracy` for a module with `n_classes` whose `forward(x)`
    returns an output with `logits` (B, n_classes): the encoder classifier and the semi-supervised models."""

    n_classes: int
    takes_unlabelled = False  # semi-supervised models (ladder, m2): -1 marks an unlabelled row
    frozen: Sequence[nn.Module] = ()  # submodules that `train` keeps in eval mode

    def train(self, mode: bool = True) -> nn.Module:
        super().train(mode)
        for m in self.frozen:
            m.eval()
        return self

    def check_labels(self, y: Tensor) -> None:
        """Raise DataError unless `y` holds integer class indices (N,) in [0, n_classes), or -1 for
        "no label" where `takes_unlabelled` (the `sklearn.semi_supervised` convention); the trainer
        calls this once per data set."""
        if y.is_floating_point() or y.ndim != 1:
            raise DataError(f"labels must be integer class indices of shape (N,), got {y.dtype} {tuple(y.shape)}")
        unlabelled, n_classes = self.takes_unlabelled, self.n_classes
        low = -1 if unlabelled else 0
        if len(y) and (y.min() < low or y.max() >= n_classes):
            allowed = f"[0, {n_classes - 1}] for {n_classes} classes" + (", or -1 for unlabelled" if unlabelled else "")
            missing = 0 if unlabelled else int((y == -1).sum())  # a supervised model given unlabelled samples
            hint = (f"; -1 marks {missing} samples as unlabelled, which needs a semi-supervised model such as "
                    "ladder or m2 (or leave those samples out)") if missing else ""
            raise DataError(f"labels must be in {allowed}, got values from {int(y.min())} to {int(y.max())}{hint}")

    def predict_proba(self, x: Any, *, batch_size: int = 1024) -> Tensor:
        """(N, *input_shape) -> (N, n_classes) class probabilities, in eval mode; x a tensor, a numpy array or
        a Dataset, shaped like the inputs or flat (another shape is one line naming it)."""
        x, _ = inputs_of(getattr(self, "autoencoder", self), x, "predict data")  # (the encoder's input shape)
        return map_batches(self, x, lambda xb: F.softmax(self(xb).logits.float(), dim=1), batch_size=batch_size)

    def predict(self, x: Any, *, batch_size: int = 1024) -> Tensor:
        """(N, *input_shape) -> (N,) predicted class indices."""
        return self.predict_proba(x, batch_size=batch_size).argmax(dim=1)

    def accuracy(self, data: Any, *, batch_size: int = 1024) -> float:
        """Share of correctly classified samples of a Dataset or (x, y) pair, among the labelled ones (-1: unlabelled)."""
        x, y = as_tensors(data, "accuracy data")
        if y is None:
            raise DataError("accuracy needs labels: give (x, y) or a Dataset with labels")
        labelled = y.cpu() != -1  # (a bug hunt: each unlabelled sample counted as misclassified, 0.125 for 0.5)
        if not labelled.any():
            raise DataError("accuracy needs labelled samples: every label is -1 (unlabelled)")
        self.check_labels(y.cpu()[labelled])  # as fit does (a bug hunt: 1-based or float labels scored 0.0, unsaid)
        return float((self.predict(x[labelled], batch_size=batch_size) == y.cpu()[labelled]).float().mean())


def labelled_terms(ce_logits: Tensor, logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """(the cross-entropy of `ce_logits` (B, C) averaged over the labelled rows, the share of those rows
    that `logits` misclassifies), both 0 without any; y (B,) holds -1 on the unlabelled rows, which
    the cross-entropy ignores (they get no gradient from it)."""
    labelled = y >= 0
    n_labelled = labelled.sum().clamp(min=1)  # a tensor: no read-back to the host
    supervised = F.cross_entropy(ce_logits, y.long(), ignore_index=-1, reduction="sum") / n_labelled
    error = ((logits.argmax(dim=1) != y) & labelled).sum() / n_labelled
    return supervised, error.detach().float()


@register_model("encoder-classifier", kind="classifier")
class EncoderClassifier(ClassifierMixin, nn.Module):
    """A pretrained (or fresh) autoencoder's encoder followed by a linear softmax layer.

    Bengio et al. (2007) and Vincent et al., JMLR 11 (2010): supervised fine-tuning of a stack of pretrained layers.

    `EncoderClassifier.on(autoencoder, n_classes)` puts the head on a copy of a trained autoencoder,
    so training the classifier leaves it unchanged; `create_model("encoder-classifier", ...)` (and
    `load_model`) builds it from its config like any model. The encoder is used through `encode`,
    and the weights `encode` does not touch (the decoder) are frozen and unused. freeze: "none"
    trains everything, "all" trains the head only, an int k freezes the first k weight layers
    (Linear/Conv) of the encoder: their weights get requires_grad False and they (with the batch
    norm and dropout that follow them) stay in eval mode while training.
    """

    Config = ClassifierConfig

    def __init__(self, config: ClassifierConfig, *, autoencoder: Autoencoder | None = None) -> None:
        super().__init__()
        self.config = config
        if autoencoder is None:
            autoencoder = create_model(config.autoencoder, **config.autoencoder_config)
        else:
            autoencoder = copy.deepcopy(autoencoder)
        self.autoencoder = autoencoder.requires_grad_(True)
        self.input_shape = tuple(autoencoder.config.input_shape)
        self.n_classes = config.n_classes
        code_size, used = self._encoder_parameters()
        for p in self.autoencoder.parameters():
            if all(p is not u for u in used):
                p.requires_grad_(False)  # the decoder: never used by `encode`
        self.head = nn.Linear(code_size, self.n_classes)  # (B, code_size) -> (B, n_classes)
        self.frozen = self._freeze(config.freeze, used)  # modules kept in eval mode
        self.freeze = "none" if type(config.freeze) is int and config.freeze == 0 else config.freeze  # one spelling
        self.train()

    @classmethod
    def on(cls, autoencoder: Autoencoder, n_classes: int, *, freeze: Literal["all", "none"] | int = "none") -> EncoderClassifier:
        """A classifier on a copy of `autoencoder`'s encoder (its trained weights included)."""
        if not isinstance(autoencoder, Autoencoder):  # (a bug hunt: AttributeError 'name')
            hint = " (a PretrainResult: give result.model)" if hasattr(autoencoder, "layers") else ""
            raise ConfigError(f"EncoderClassifier.on: needs an aekit autoencoder, got {type(autoencoder).__name__}{hint}")
        config = make_config(cls.name, {"autoencoder": autoencoder.name, "autoencoder_config": to_dict(autoencoder.config),
                                        "n_classes": n_classes, "freeze": freeze})
        return cls(config, autoencoder=autoencoder).to(model_dtype(autoencoder))  # its head in the encoder's float type

    def _encoder_parameters(self) -> tuple[int, list[nn.Parameter]]:
        """The code size and the parameters `encode` uses, found by differentiating one dry run."""
        ae = self.autoencoder
        device = next(ae.parameters()).device
        params = list(ae.parameters())
        with eval_mode(ae), torch.enable_grad():
            z = ae.encode(torch.zeros(2, *self.input_shape, device=device, dtype=model_dtype(ae)))
            grads = torch.autograd.grad(z.float().sum(), params, allow_unused=True)
        return int(z[0].numel()), [p for p, g in zip(params, grads) if g is not None]

    def _freeze(self, freeze: Any, used: list[nn.Parameter]) -> list[nn.Module]:
        """Set requires_grad False on the frozen weights; return the modules to keep in eval mode."""
        def is_used(m: nn.Module) -> bool:
            return any(p is u for p in m.parameters(recurse=False) for u in used)

        # the leaf modules, less those with weights `encode` does not use (the decoder's: never frozen)
        leaves = [m for m in self.autoencoder.modules() if not list(m.children())]
        leaves = [m for m in leaves if is_used(m) or not list(m.parameters(recurse=False))]
        starts = [i for i, m in enumerate(leaves) if isinstance(m, _WEIGHTED)]  # weighted leaves are used ones
        if freeze == "none":
            return []
        if freeze == "all":
            frozen = leaves if starts else []
        elif isinstance(freeze, int) and not isinstance(freeze, bool) and 0 <= freeze <= len(starts):
            # layer i: its weight module and what follows it (batch norm, activation, dropout) up to the next
            end = starts[freeze] if freeze < len(starts) else len(leaves)
            frozen = leaves[starts[0] : end] if freeze > 0 else []
        else:
            raise ConfigError(
                f"freeze: {freeze!r} is not allowed; choose 'all', 'none' or a number of encoder layers "
                f"from 0 to {len(starts)}"
            )
        for m in frozen:
            m.requires_grad_(False)
        return frozen

    # --- the trainer's contract -------------------------------------------------------------------
    def check_data(self, x: Tensor) -> None:
        self.autoencoder.check_data(x)

    def forward(self, x: Tensor) -> ClassifierOutput:
        z = self.autoencoder.encode(x).flatten(1)  # (B, *input_shape) -> (B, code_size); feature maps flattened
        return ClassifierOutput(logits=self.head(z), z=z)

    def loss(self, x: Tensor, output: ClassifierOutput, *, y: Tensor | None = None) -> dict[str, Tensor]:
        """{"loss": cross-entropy, "accuracy", "error": 1 - accuracy}, means over the batch.

        Labels are checked by `check_labels` (once, in `aekit.fit`), not here: reading their range
        back every step would stall a GPU."""
        if y is None:
            raise DataError("EncoderClassifier needs labels: give (x, y) or a Dataset with labels")
        ce = F.cross_entropy(wide(output.logits), y.long())
        accuracy = (output.logits.argmax(dim=1) == y).float().mean()
        return {"loss": ce, "accuracy": accuracy.detach(), "error": (1 - accuracy).detach()}


def select_labels(
    dataset: Dataset, n_labels: int | None = None, *, labels_per_class: int | None = None, seed: int = 0
) -> Dataset:
    """A seeded random labelled subset, stratified by class: give `n_labels` or `labels_per_class`.

    labels_per_class: exactly that many samples of every class.
    n_labels: exactly that many samples, shared among the classes in proportion to their
    frequency (largest remainders get the leftover ones), e.g. 100 MNIST digits -> ~10 per class.
    """
    if dataset.y is None:
        raise DataError(f"{dataset.name}: select_labels needs a data set with labels")
    if (n_labels is None) == (labels_per_class is None):
        raise ConfigError("select_labels: give exactly one of n_labels and labels_per_class")
    for key, value in (("n_labels", n_labels), ("labels_per_class", labels_per_class)):
        if value is not None and (not isinstance(value, numbers.Integral) or isinstance(value, bool)):
            raise ConfigError(f"{key}: must be a whole number, got {value!r}")  # (a bug hunt: TypeError from a slice)
    y = dataset.y.numpy()
    labelled = np.flatnonzero(y != -1)  # -1: unlabelled, never selected (a bug hunt: taken as a class, 80 of 100)
    classes, counts = np.unique(y[labelled], return_counts=True)
    if not len(labelled):
        raise DataError(f"{dataset.name}: every label is -1 (unlabelled); select_labels takes labelled samples")
    if labels_per_class is not None:
        if labels_per_class < 1:
            raise ConfigError(f"labels_per_class: must be >= 1, got {labels_per_class}")
        if labels_per_class > counts.min():
            raise DataError(
                f"labels_per_class: {labels_per_class} is more than class {classes[counts.argmin()]} has "
                f"({counts.min()} samples)"
            )
        wanted = np.full(len(classes), labels_per_class)
    else:
        if not 1 <= n_labels <= len(labelled):
            raise ConfigError(f"n_labels: must be between 1 and the data set's {len(labelled)} labelled samples, got "
                              f"{n_labels}")
        share = counts * n_labels / len(labelled)
        wanted = np.floor(share).astype(int)
        leftover = n_labels - wanted.sum()
        wanted[np.argsort(-(share - wanted), kind="stable")[:leftover]] += 1
    rng = np.random.default_rng(seed)
    chosen = [rng.permutation(np.flatnonzero(y == c))[:n] for c, n in zip(classes, wanted)]
    return dataset.subset(np.sort(np.concatenate(chosen)))
