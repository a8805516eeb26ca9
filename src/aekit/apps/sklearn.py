"""scikit-learn estimators: `AutoencoderTransformer` (X -> codes), `AutoencoderClassifier`
(pretrain an autoencoder on X, then fine-tune its encoder with a softmax head on y) and
`SemiSupervisedClassifier` (a ladder network or M2 trained on y where -1 marks unlabelled samples,
like `sklearn.semi_supervised.SelfTrainingClassifier`).

All take 2-D arrays (n_samples, n_features), do no work in `__init__`, keep fitted state in
attributes ending in `_`, and work in `Pipeline` and `GridSearchCV`:

    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from aekit.apps.sklearn import AutoencoderTransformer
    >>> pipe = make_pipeline(MinMaxScaler(), AutoencoderTransformer(model_params={"code_size": 16}),
    ...                      LogisticRegression())

`AutoencoderTransformer`'s default model is "auto", `aekit train`'s default: a dense model sized
from the data, started at PCA's solution and trained with MSE on linear outputs. For a named model,
when `model_params` does not name `recon_loss`, data inside [0, 1] use the model's default (binary
cross-entropy for most models) and data outside [0, 1] switch to `recon_loss="mse"` with a linear
output; the choice is kept in `recon_loss_`. A named model reads X as given: standardise columns of large
values first (a VAE's variance overflows on raw counts in thousands, before any step). Naming
`recon_loss="bce"` explicitly with data outside [0, 1] raises DataError.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import numbers
import re
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass
from typing import Any

import numpy as np
import scipy.sparse
import torch
from numpy.typing import ArrayLike
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from torch import Tensor, nn

from ..config import build, coerce, keys_of, unknown_key
from ..data.batches import map_batches, warn_of_rounding
from ..errors import AekitError, ConfigError, DataError, NonFiniteLossError, warn
from ..models.base import flatten
from ..models.classifier import EncoderClassifier
from ..registry import create_model, list_models, model_entry
from ..training.loop import FIT_LOCK, TrainConfig, fit, resolve_device
from .run import AUTO, auto_model

_FLOATS = [np.float64, np.float32]  # ints, bools and lists are read as float64 (as PCA does), checked for rounding


@contextmanager
def _one_line_data_errors():
    """sklearn's multi-line ValueErrors as one-line DataErrors (dropping the echoed array).

    TypeErrors (sparse input, objects that are not numbers) stay TypeErrors, as sklearn expects.
    """
    try:
        yield
    except AekitError:
        raise
    except ValueError as err:
        text = re.sub(r"array=\[.*?\]\.?|\[\[.*\]\]", "", str(err), flags=re.DOTALL)  # never the data itself
        raise DataError(" ".join(line.strip() for line in text.splitlines() if line.strip())) from None


UNSCALED = 5.0  # a classifier's X whose values' 99th percentile (in size) passes this is told to be scaled


def _warn_unscaled(X, model: str) -> None:
    """The classifiers train their networks on X as given (the auto model standardises it itself): values far from
    unit size train them far worse (a trial: iris 0.70 against 0.95 standardised, digits' 0..16 with M2 0.62 against
    0.92), which a scaler mends. By each column's 99th percentile, 64 columns at a time (one wide column counts)."""
    if model == "auto" or not np.size(X):
        return
    rows = np.asarray(X[:: max(1, len(X) // 10_000)])
    top = max(float(np.quantile(np.abs(rows[:, j : j + 64]), 0.99, axis=0).max()) for j in range(0, rows.shape[1], 64))
    if top > UNSCALED:
        warn(f"X: its values reach {top:.3g} in size (a column's 99th percentile); the classifiers train far better on "
             "standardised or [0, 1] inputs: put a StandardScaler (or MinMaxScaler) before it in a pipeline")


def _checked(estimator, X, y="no_validation", *, reset: bool):
    """validate_data (floats only), with its ValueErrors as one-line DataErrors. A sparse X (TF-IDF from
    TfidfVectorizer, as TruncatedSVD takes) comes back dense: the networks take dense batches."""
    if reset:  # fitting anew: unfitted until this fit ends (__sklearn_is_fitted__)
        vars(estimator).pop("history_", None)
    with _one_line_data_errors():
        checked = validate_data(estimator, X, y, reset=reset, dtype=_FLOATS, accept_sparse=("csr", "csc", "coo"))
    X, y = checked if isinstance(checked, tuple) else (checked, None)
    X = X.toarray() if scipy.sparse.issparse(X) else X
    _check_float32(X, "X")
    if reset and X.dtype == np.float64:
        warn_of_rounding(X, "X")
    return (X, y) if isinstance(checked, tuple) else X


def _check_float32(X: np.ndarray, what: str) -> None:
    """Refuse values beyond float32's range, the networks' precision (a review: a list holding 1e39 was told it held
    NaN or infinite values, and codes that large decoded to NaN, unsaid)."""
    if X.dtype != np.float64 or not X.size:
        return
    low, high = X.min(), X.max()  # (one pass each: X may be large)
    if max(-low, high) > np.finfo(np.float32).max:
        big = high if high >= -low else low
        raise DataError(f"{what}: a value of {big:.3g}, beyond float32's range (the networks' precision, "
                        f"+-{np.finfo(np.float32).max:.3g}); scale them first (StandardScaler)")


def _params(est, name: str) -> dict[str, Any]:
    """The estimator's dict parameter `name` (model_params, train_params; None: none), checked to be one."""
    given = getattr(est, name, None)
    if given is not None and not isinstance(given, Mapping):
        raise ConfigError(f"{name}: must be a dict of config keys (or None), got {given!r}")
    return dict(given or {})


def _seed(random_state) -> int:
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


EPOCHS = 20  # an estimator's epochs when it names none (and no time_budget)
# AutoencoderClassifier's fine-tuning without finetune_epochs: EPOCHS, or more for at least these many steps (a trial:
# 135 labelled digits got 40 steps, 0.64 accuracy against logistic regression's 0.88; 300 epochs reached 0.88)
FINETUNE_STEPS = 500
TRAIN_KEYS = frozenset(f.name for f in dataclasses.fields(TrainConfig))  # what train_params may name
OWN = {"epochs": "epochs", "batch_size": "batch_size", "optimizer": "optimizer", "lr": "lr", "seed": "random_state",
       "device": "device", "progress": "verbose", "restore_best": "validation_fraction",
       "labelled_per_batch": "labelled_per_batch"}  # the parameter that sets each TrainConfig key an estimator sets


def _fit_options(est, seed: int, names: dict[str, str] = OWN, **changes: Any) -> dict[str, Any]:
    """The estimator's `aekit.fit` options (TrainConfig keys); `changes` replace or add some; then its
    `train_params`, if it has them, where a time_budget replaces epochs. Checked here, a bad one named as
    the user set it: its parameter (`names`: the one setting each key) or train_params.KEY."""
    if not isinstance(est.verbose, numbers.Integral):  # (a bool is one)
        raise ConfigError(f"verbose: must be a bool or an int (0: silent), got {est.verbose!r}")
    options = {"epochs": EPOCHS if est.epochs is None else est.epochs, "batch_size": est.batch_size,
               "optimizer": est.optimizer, "lr": est.lr, "seed": seed, "device": est.device, "progress": bool(est.verbose),
               **changes}
    extra = _params(est, "train_params")
    unknown = sorted(extra.keys() - TRAIN_KEYS)
    if unknown:  # listing the keys train_params may set (a near one the estimator's own: said so, a config trial)
        near = difflib.get_close_matches(unknown[0], [k for k in OWN if k in options], n=1)
        if near:
            raise ConfigError(f"train_params: unknown key {unknown[0]!r}; did you mean the estimator's parameter "
                              f"{OWN[near[0]]}=?")
        raise unknown_key("train_params", unknown[0], TRAIN_KEYS - options.keys())
    clash = sorted(extra.keys() & options.keys())
    if clash:
        raise ConfigError(f"train_params: {clash[0]!r} is set by the estimator's parameter {OWN[clash[0]]}; set it there")
    logs = extra.get("log") or ()  # (a word for a list: refused as the trainer refuses it, not letter by letter)
    folders = [name for name in logs if name != "mlflow"] if isinstance(logs, (list, tuple)) else []  # (mlflow logs to its
    # store: a logging trial)
    if folders:
        raise ConfigError(f"train_params: log {folders[0]!r} writes into a run folder, which the estimators do not "
                          "make; 'mlflow' logs to its store, or log a training with aekit.fit(..., run_dir=FOLDER, "
                          "log=[...])")
    checkpoints = sorted(extra.keys() & {"checkpoint_every", "checkpoint_minutes"})  # (a review: taken, unsaid)
    if checkpoints:
        raise ConfigError(f"train_params: {checkpoints[0]!r} sets a run folder's checkpoints, which the estimators do "
                          "not make; checkpoint a training with aekit.fit(..., run_dir=FOLDER)")
    options |= extra
    if extra.get("time_budget") is not None:  # the budget decides how long it trains
        if est.epochs is not None:
            raise ConfigError(f"epochs={est.epochs} and train_params' time_budget: give one (the budget decides how "
                              "long it trains)")
        del options["epochs"]
    try:
        build(TrainConfig, options, where="train")
    except ConfigError as err:
        key, rest = str(err).removeprefix("train.").split(":", 1)
        if key not in extra and key not in names:
            raise
        raise ConfigError(f"{f'train_params.{key}' if key in extra else names[key]}:{rest}") from None
    return options


@contextmanager
def _model_params(default_code: str | None = None):
    """A model key's ConfigError named as the estimator's user set it: model_params.hidden, not model.hidden;
    `default_code`, the model whose default code size is taken (one the user did not give, said as such)."""
    try:
        yield
    except ConfigError as err:
        message = re.sub(r"^model(?=[.:])", "model_params", str(err))
        if default_code and message.startswith("model_params.code_size:"):  # a named model's fixed default, e.g. 30
            message += f" (the default of model {default_code!r}); give model_params={{'code_size': K}}"
        raise ConfigError(message) from None


def _model_keys(est, x: Tensor) -> tuple[str, dict[str, Any], tuple[int, ...]]:
    """(model name, config keys, input shape) of `est.model` for flat samples `x` (N, D): `model_params`
    with `input_shape` checked against D, and MSE on linear outputs for data outside [0, 1]. "auto" is
    `aekit train`'s default: a dense model sized from the data and started at PCA's solution (run.auto_model)."""
    params = _params(est, "model_params")
    shape = coerce(params.pop("input_shape", (x.shape[1],)), tuple[int, ...], "model_params.input_shape")
    if math.prod(shape) != x.shape[1]:
        raise DataError(
            f"model_params.input_shape {shape} holds {math.prod(shape)} values but X has "
            f"{x.shape[1]} features; give a shape whose product is {x.shape[1]}"
        )
    name = est.model
    if name == AUTO:
        # the keys it chose, then the user's; no dropout unless given: aekit train's for few samples counters a long
        # run learning them by heart, and in 20 epochs it learned less (benchmarks/RESULTS.md 7e)
        params = auto_model({"dropout": 0.0, **params}, shape, len(x))
        name = params.pop("name")
    keys = keys_of(model_entry(name).cls.Config)
    if "recon_loss" in keys and "recon_loss" not in params and (x.min() < 0 or x.max() > 1):
        params["recon_loss"] = "mse"  # bce needs targets in [0, 1]; see the module docstring
        if "output_activation" in keys:
            params.setdefault("output_activation", "linear")
    return name, params, shape


def _classes(y: np.ndarray, labelled: str = "") -> tuple[np.ndarray, np.ndarray]:
    """(classes_, each label's index into them), refusing targets that are not classes or one class only.
    `labelled`: what the labels are, said in the refusal."""
    with _one_line_data_errors():
        check_classification_targets(y)
    classes, index = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        one = classes[0].item() if isinstance(classes[0], np.generic) else classes[0]  # 1, not np.int64(1)
        raise DataError(f"y holds one class ({one!r}){labelled}; a classifier needs at least 2 classes")
    return classes, index


def _train_autoencoder(est, x: Tensor, seed: int, validation_fraction: float | None = None) -> dict[str, list[float]]:
    """Build `est.model` for flat samples `x` (N, D) and train it: sets `est`'s model_, input_shape_
    and recon_loss_ once training has succeeded (a failed fit leaves it unfitted), returns the history.
    With `validation_fraction`, a seeded share of `x` is held out and the epoch (or the start) with
    the lowest loss on it is kept."""
    if est.model != AUTO and est.model not in list_models():
        model_entry(est.model, also={AUTO: "chosen from the data"}, kind="autoencoder")  # not registered: how to import yours
        other = " (a semi-supervised model trains in SemiSupervisedClassifier)" if est.model in list_models("semi-supervised") else ""
        raise ConfigError(f"model: {est.model!r} is not an autoencoder{other}; choose {AUTO} or one of: {', '.join(list_models())}")
    number = isinstance(validation_fraction, numbers.Real) and not isinstance(validation_fraction, bool)
    if validation_fraction is not None and not (number and 0 <= validation_fraction < 1):
        raise ConfigError(f"validation_fraction: must be a number in [0, 1) or None, got {validation_fraction!r}")
    with _model_params():
        name, params, shape = _model_keys(est, x)
    held = int(round(len(x) * (validation_fraction or 0)))
    code = params.get("code_size")
    fewest = code if isinstance(code, int) and params.get("linear_path") else 1  # PCA's start needs code_size rows
    val, kept = None, held > 0 and len(x) - held >= fewest  # else too few samples to hold any out
    if kept:
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
        x, val = x[order[held:]], x[order[:held]].reshape(-1, *shape)
    with FIT_LOCK, torch.random.fork_rng():  # leave the caller's global RNG as it was (one fit at a time: registry.FIT_LOCK)
        torch.manual_seed(seed)
        with _model_params(None if "code_size" in params else name):
            model = create_model(name, input_shape=shape, **params).float()  # float32, whatever torch's default dtype
        with _name_the_estimator_parameter("autoencoder training", "lr",
                                           extra="train_params" if hasattr(est, "train_params") else None):
            history = fit(model.to(resolve_device(est.device)), x.reshape(-1, *shape), val,  # stays there: transforms
                          **_fit_options(est, seed, restore_best=val is not None))
    est.model_, est.input_shape_, est.recon_loss_ = model, shape, model.config.recon_loss
    if validation_fraction and not kept:  # said once it trained (a refused fit says why it was refused)
        why = "holds none out" if held == 0 else f"would leave {len(x) - held} to train on, fewer than the code's {fewest}"
        warn(f"validation_fraction={validation_fraction:g} of {len(x)} samples {why}: trained on all of them, "
             "without a validation check")
    return history


@contextmanager
def _name_the_estimator_parameter(phase: str, parameter: str, names: dict[str, str] = OWN, extra: str | None = "train_params"):
    """Say a NaN loss in the estimator's own terms (its parameter, not the trainer's train.lr), and a trainer's
    refusal of a train.KEY (a TrainConfig key) as the parameter that sets it (`names`) or `extra`.KEY."""
    def named(m: re.Match) -> str:
        return names[m[1]] if m[1] in names else f"{extra}.{m[1]}" if extra else m[0]

    try:
        yield
    except (ConfigError, DataError) as err:
        if type(err) not in (ConfigError, DataError):
            raise
        said = re.sub(r"(?<![\w.])train\.(\w+)\b", lambda m: named(m) if m[1] in TRAIN_KEYS else m[0], str(err))
        if said == str(err):
            raise
        raise type(err)(said) from None
    except NonFiniteLossError as err:
        advice = ("before any step: the model's loss is not finite on X as given; scale X (StandardScaler) first"
                  if err.first else f"try a lower {parameter}, or scale X")
        raise NonFiniteLossError(f"{phase}: the loss became {err.value} {err.where}; {advice}",
                                 value=err.value, where=err.where, first=err.first) from None


CHUNK_ROWS = 8192  # rows transform and score_samples take at a time


def _as_tensor(X: np.ndarray, shape: tuple[int, ...]) -> Tensor:
    """(N, D) array -> (N, *shape) float32 tensor (a copy, so read-only inputs are fine)."""
    return torch.tensor(np.ascontiguousarray(X), dtype=torch.float32).reshape(-1, *shape)


def _by_rows(X: np.ndarray, fn) -> np.ndarray:
    """fn of X's rows, CHUNK_ROWS at a time, joined: a chunk's copies and float64 differences alone in memory (a
    scale hunt: score_samples of 1,000,000 rows, 3.1 GB, peaked at 12.3 GB)."""
    if len(X) <= CHUNK_ROWS:
        return fn(X)
    return np.concatenate([fn(X[i : i + CHUNK_ROWS]) for i in range(0, len(X), CHUNK_ROWS)])


def _batched(fn, x: Tensor, model: nn.Module, batch_size: int = 1024) -> np.ndarray:
    """fn applied to `x` in eval mode, batch by batch, as one flat (N, -1) numpy array."""
    return flatten(map_batches(model, x, fn, batch_size=batch_size)).numpy()


def _on_gpu(value) -> bool:
    """Whether `value` is a network with weights or buffers on a GPU."""
    return isinstance(value, nn.Module) and any(t.is_cuda for t in (*value.parameters(), *value.buffers()))


class _PicklesOnCpu:
    """Pickles its fitted networks with their weights on the CPU, so that an estimator fitted on a GPU
    unpickles on any machine (as aekit.load_model reads a GPU run on the CPU); takes sparse X."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # densified by _checked
        return tags

    def set_params(self, **params):
        """As BaseEstimator's, and `model_params__KEY` (or `train_params__KEY`) sets one key of that dict, as a
        GridSearchCV grid names it: `{"model_params__code_size": [4, 16]}`."""
        dicts = {"model_params", "train_params"} & self.get_params(deep=False).keys()
        nested = {k: params.pop(k) for k in list(params) if k.split("__")[0] in dicts and "__" in k}
        super().set_params(**params)  # a whole dict first, then its keys named in the same call
        for key, value in nested.items():
            name, inner = key.split("__", 1)
            setattr(self, name, {**(getattr(self, name) or {}), inner: value})  # a new dict: clones share none
        return self

    def __sklearn_is_fitted__(self) -> bool:  # (validate_data sets n_features_in_ before training: not enough)
        return hasattr(self, "history_")

    def __getstate__(self):
        state = super().__getstate__()
        if not any(_on_gpu(value) for value in state.values()):
            return state
        memo: dict[int, Any] = {}  # one for all: model_ and head_ stay classifier_'s own modules, pickled once
        return {k: copy.deepcopy(v, memo).cpu() if isinstance(v, nn.Module) else v for k, v in state.items()}


class _PredictsClasses(_PicklesOnCpu):
    """predict_proba and predict of a fitted estimator whose network (attribute `_network`) returns logits."""

    _network: str  # the fitted attribute holding the network: "classifier_" or "model_"

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities (n_samples, n_classes), columns in the order of `classes_`."""
        check_is_fitted(self)
        return self._proba(_checked(self, X, reset=False))

    def _proba(self, X: np.ndarray) -> np.ndarray:  # X checked
        network = getattr(self, self._network)
        logits = _batched(lambda xb: network(xb).logits, _as_tensor(X, self.input_shape_), network)
        return torch.softmax(torch.from_numpy(logits).double(), dim=1).numpy()

    def predict(self, X: ArrayLike) -> np.ndarray:
        proba = self.predict_proba(X)  # first: it raises NotFittedError before classes_ is read
        return self.classes_[np.argmax(proba, axis=1)]


# The estimators are dataclasses: the generated __init__ stores each parameter and does nothing else,
# as sklearn asks; repr=False and eq=False keep BaseEstimator's repr and identity equality.
@dataclass(repr=False, eq=False)
class AutoencoderTransformer(_PicklesOnCpu, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Learn an autoencoder on X; `transform` gives codes, `inverse_transform` decodes them.

    model: "auto" (the default, as in `aekit train`): a dense model sized from the data and started
    at PCA's solution, trained with MSE on linear outputs (on scikit-learn's bundled tables its test
    error stayed within 1.04x PCA's, raw or standardised, where "dense" reached 2.1x on standardised
    and over 100x on raw tables: benchmarks/sklearn_default.py); or a registered model name
    (`aekit.list_models()`). model_params: its config keys (e.g.
    `{"hidden": [256, 64], "code_size": 16}`; `input_shape` defaults to `(n_features,)`, give e.g.
    `(1, 8, 8)` to feed flat image rows to a convolutional model). validation_fraction: a seeded
    share of X held out to keep the epoch with the lowest loss on it (the PCA start counts as one for
    "auto", so in short fits it ends at or below PCA on that share; as `aekit train` does, and as
    MLPRegressor's early_stopping); None (or too few samples) trains on all of X for every epoch.
    The other parameters are `aekit.fit` options, and `train_params` any further ones (e.g. `{"time_budget":
    30, "lr_schedule": "cosine"}`; a time_budget replaces `epochs`). `score` is the negative mean squared reconstruction
    error per feature (higher is better, as GridSearchCV expects); `score_samples` gives it per sample,
    for anomaly detection. random_state: None (the default, as scikit-learn's) draws new weights, order
    and validation share each fit; an int repeats a fit exactly (at the same thread count).
    """

    model: str = AUTO
    model_params: dict | None = None
    _: KW_ONLY
    epochs: int | None = None  # None: EPOCHS, or as long as train_params' time_budget
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    validation_fraction: float | None = 0.1
    train_params: dict | None = None
    random_state: Any = None
    device: str = "auto"
    verbose: bool = False

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> AutoencoderTransformer:
        X = _checked(self, X, reset=True)
        x = torch.tensor(np.ascontiguousarray(X), dtype=torch.float32)
        history = _train_autoencoder(self, x, _seed(self.random_state), self.validation_fraction)
        self._n_features_out = int(_batched(self.model_.encode, x[:1].reshape(1, *self.input_shape_), self.model_).shape[1])
        self.history_ = history  # last: fitted (__sklearn_is_fitted__)
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Codes (n_samples, n_codes), in X's float dtype."""
        check_is_fitted(self)
        X = _checked(self, X, reset=False)
        return _by_rows(X, lambda rows: _batched(self.model_.encode, _as_tensor(rows, self.input_shape_), self.model_
                                                 ).astype(X.dtype))

    def inverse_transform(self, Z: ArrayLike) -> np.ndarray:
        """Reconstructions (n_samples, n_features) decoded from codes Z (n_samples, n_codes)."""
        check_is_fitted(self)
        with _one_line_data_errors():
            Z = check_array(Z, dtype=_FLOATS)
        _check_float32(Z, "codes")
        if Z.shape[1] != self._n_features_out:
            raise DataError(f"codes have {Z.shape[1]} columns but the model's code has {self._n_features_out}")
        z = torch.tensor(Z, dtype=torch.float32)
        return _batched(self.model_.decode, z, self.model_).astype(Z.dtype)

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """Each sample's negative mean squared reconstruction error per feature (n_samples,): higher is more
        typical, as scikit-learn's outlier detectors score, so the lowest are the likeliest anomalies."""
        check_is_fitted(self)
        X = _checked(self, X, reset=False)  # compared as the network took it, in float32: a float64 column near
        # 1.7e9 (a timestamp) would otherwise add its float32 rounding, ~100 a row, to every score
        # the model's own reconstruction (an unpool decoder's decode(encode(x)) lacks its pooling indices: 1.7x the error)
        def scores(rows: np.ndarray) -> np.ndarray:
            rebuilt = _batched(lambda xb: self.model_(xb).x_hat, _as_tensor(rows, self.input_shape_), self.model_)
            return -np.mean((np.asarray(rows, dtype=np.float32).astype(np.float64) - rebuilt) ** 2, axis=1)

        return _by_rows(X, scores)

    def score(self, X: ArrayLike, y: ArrayLike | None = None) -> float:
        """Negative mean squared reconstruction error per feature (0 is perfect): `score_samples`' mean."""
        return float(np.mean(self.score_samples(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


@dataclass(repr=False, eq=False)
class AutoencoderClassifier(_PredictsClasses, ClassifierMixin, BaseEstimator):
    """Pretrain an autoencoder on X, then fine-tune its encoder with a softmax head on y.

    Fine-tuning is `aekit.models.classifier.EncoderClassifier` (the encoder plus one linear softmax
    layer on the code, every layer trainable) trained by `aekit.fit` with cross-entropy for
    `finetune_epochs` (default: 20, or more on small data, for at least 500 steps) at `finetune_lr` (default:
    `lr`). After fitting, `classifier_` is that
    classifier, `model_` its fine-tuned autoencoder (the decoder is no longer matched to the
    encoder) and `head_` the softmax layer.
    """

    _network = "classifier_"

    model: str = "dense"
    model_params: dict | None = None
    _: KW_ONLY
    epochs: int | None = None  # None: EPOCHS
    finetune_epochs: int | None = None  # None: EPOCHS, or more for FINETUNE_STEPS steps on small data
    batch_size: int = 128
    lr: float = 1e-3
    finetune_lr: float | None = None
    optimizer: str = "adam"
    random_state: Any = None
    device: str = "auto"
    verbose: bool = False

    def fit(self, X: ArrayLike, y: ArrayLike) -> AutoencoderClassifier:
        X, y = _checked(self, X, y, reset=True)
        _warn_unscaled(X, self.model)
        self.classes_, y_index = _classes(y)
        marked = int(np.sum(np.asarray(y, dtype=object) == UNLABELLED))
        if marked and len(self.classes_) > 2:  # (-1 beside one other class: labels -1 and +1, a class each)
            warn(f"y: {marked} samples are labelled -1, learnt as a class; if -1 marks unlabelled samples (as in "
                 "scikit-learn's semi-supervised estimators), give the labelled ones alone, or use "
                 "SemiSupervisedClassifier, which learns from both")
        seed = _seed(self.random_state)
        lr = self.finetune_lr if self.finetune_lr is not None else self.lr
        # checked before pretraining, so a bad fine-tuning option fails at once
        names = {**OWN, "epochs": "finetune_epochs", "lr": "finetune_lr" if self.finetune_lr is not None else "lr"}
        steps = math.ceil(len(y_index) / self.batch_size) if isinstance(self.batch_size, int) and self.batch_size > 0 else 1
        epochs = self.finetune_epochs if self.finetune_epochs is not None else max(  # (a bad batch_size is refused
            EPOCHS, math.ceil(FINETUNE_STEPS / steps))  # by build, below)
        cfg = build(TrainConfig, _fit_options(self, seed, names, epochs=epochs, lr=lr), where="finetune")
        x = torch.tensor(np.ascontiguousarray(X), dtype=torch.float32)
        history = _train_autoencoder(self, x, seed)
        with FIT_LOCK, torch.random.fork_rng():
            torch.manual_seed(seed + 1)
            self.classifier_, losses = self._finetune(x.reshape(-1, *self.input_shape_), torch.from_numpy(y_index), cfg,
                                                      names)
        self.model_, self.head_ = self.classifier_.autoencoder, self.classifier_.head  # both fine-tuned
        self.history_ = {**history, "finetune_loss": losses}
        return self

    def _finetune(self, x: Tensor, y: Tensor, cfg: TrainConfig, names: dict[str, str]) -> tuple[EncoderClassifier, list[float]]:
        """The pretrained encoder plus a softmax head, every layer trained by `aekit.fit` on (x, y); `names`: the
        estimator parameter that sets each TrainConfig key of its training."""
        classifier = EncoderClassifier.on(self.model_, len(self.classes_), freeze="none")
        parameter = "finetune_lr" if self.finetune_lr is not None else "lr (or set finetune_lr)"
        with _name_the_estimator_parameter("fine-tuning", parameter, names, extra=None):
            history = fit(classifier, (x, y), config=cfg)
        classifier.autoencoder.requires_grad_(True)  # its decoder was frozen (unused) while fine-tuning
        return classifier.eval(), history["train_loss"]


UNLABELLED = -1  # the label of an unlabelled sample, as in sklearn.semi_supervised


def _unlabelled(y: np.ndarray) -> np.ndarray:
    """Which entries of y are -1 (unlabelled). A string array cannot hold the number -1: its "-1" is refused,
    as sklearn.semi_supervised does, rather than taken for a class."""
    if y.dtype.kind in "USV":
        marked = next((m for m in (str(UNLABELLED), "") if np.any(y.astype(str) == m)), None)  # '': no class either
        if marked is not None:
            raise DataError(f"y holds strings and {marked!r}: unlabelled samples are marked by the number -1, so give an "
                            "object array (y.astype(object)) with -1 for them")
        return np.zeros(len(y), dtype=bool)
    return np.array([v == UNLABELLED for v in y], dtype=bool) if y.dtype == object else y == UNLABELLED


@dataclass(repr=False, eq=False)
class SemiSupervisedClassifier(_PredictsClasses, ClassifierMixin, BaseEstimator):
    """A semi-supervised model (a ladder network or M2) trained on X with y where -1 marks unlabelled samples.

    As in `sklearn.semi_supervised.SelfTrainingClassifier`, `y` holds a class for each labelled
    sample and -1 for each unlabelled one; `classes_` are the classes of the labelled samples.
    model: a registered semi-supervised model (`aekit.list_models("semi-supervised")`),
    model_params its config keys (`input_shape` defaults to `(n_features,)`, `n_classes` comes
    from y). Training is `aekit.fit` on mixed batches (docs: Training, Mixed batches): each batch
    of `batch_size` holds `labelled_per_batch` labelled samples, by default a quarter of the batch, or
    the labelled share of the data when that is larger; an epoch is one pass over the unlabelled
    samples. With every sample labelled, batches are plain. `train_params` are further `aekit.fit`
    options (e.g. `{"lr_schedule": "cosine"}`), checked strictly. After fitting, `model_` is the
    trained model and `transduction_` the labels of the training samples (the given ones, and the
    predicted ones where y was -1). `score` is the accuracy on the labelled samples of y.
    """

    _network = "model_"

    model: str = "ladder"
    model_params: dict | None = None
    _: KW_ONLY
    epochs: int | None = None  # None: EPOCHS, or as long as train_params' time_budget
    batch_size: int = 100
    labelled_per_batch: int | None = None
    lr: float = 2e-3
    optimizer: str = "adam"
    train_params: dict | None = None
    random_state: Any = None
    device: str = "auto"
    verbose: bool = False

    def fit(self, X: ArrayLike, y: ArrayLike) -> SemiSupervisedClassifier:
        kinds = list_models("semi-supervised")
        if self.model not in kinds:
            raise ConfigError(f"model: {self.model!r} is not a semi-supervised model; choose one of: {', '.join(kinds)}")
        X, y = _checked(self, X, y, reset=True)
        _warn_unscaled(X, self.model)
        unlabelled = _unlabelled(y)
        if unlabelled.all():
            raise DataError("y: every sample is unlabelled (-1); a semi-supervised classifier needs some labelled samples")
        self.classes_, index = _classes(y[~unlabelled], " among its labelled samples (-1: unlabelled)")
        y_index = np.full(len(y), UNLABELLED, dtype=np.int64)
        y_index[~unlabelled] = index
        seed = _seed(self.random_state)
        options = _fit_options(self, seed, labelled_per_batch=self._labelled_per_batch(unlabelled))
        cfg = build(TrainConfig, options, where="train_params")
        x = torch.tensor(np.ascontiguousarray(X), dtype=torch.float32)
        with FIT_LOCK, torch.random.fork_rng(), _name_the_estimator_parameter("training", "lr"):  # the caller's RNG untouched
            torch.manual_seed(seed)
            self.model_ = self._build(x).to(resolve_device(self.device))  # fit leaves it there: predictions
            history = fit(self.model_, (x.reshape(-1, *self.input_shape_), torch.from_numpy(y_index)), config=cfg)
        self.transduction_ = np.where(unlabelled, self.classes_[self._proba(X).argmax(axis=1)], y) if unlabelled.any() else y.copy()
        self.history_ = history  # last: fitted (__sklearn_is_fitted__)
        return self

    def _labelled_per_batch(self, unlabelled: np.ndarray) -> int:
        if not unlabelled.any():  # every sample labelled: plain batches
            return 0
        if self.labelled_per_batch is not None:
            return self.labelled_per_batch
        share = round(self.batch_size * (1 - unlabelled.mean()))
        return min(max(self.batch_size // 4, share, 1), self.batch_size - 1)

    def _build(self, x: Tensor) -> nn.Module:
        """The model for flat samples `x` (N, D), with MSE reconstruction for data outside [0, 1]."""
        if "n_classes" in (self.model_params or {}):
            raise ConfigError(f"model_params.n_classes: set from y ({len(self.classes_)} classes); leave it out")
        with _model_params():
            name, params, shape = _model_keys(self, x)
            self.input_shape_ = shape
            return create_model(name, input_shape=shape, n_classes=len(self.classes_), **params).float()

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Accuracy on the samples whose label is not -1 (the labelled ones)."""
        y = np.asarray(y)
        y = y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y  # a column of labels, as fit takes it (a bug hunt: its
        labelled = ~_unlabelled(y) if y.ndim == 1 else np.ones(len(y), dtype=bool)  # -1 rows were counted as wrong)
        if labelled.all():
            return super().score(X, y, sample_weight=sample_weight)
        if not labelled.any():  # (a bug hunt: "Found array with 0 sample(s)")
            raise DataError("y: every sample is unlabelled (-1); score is the accuracy on the labelled ones: give some")
        weights = None if sample_weight is None else _safe_indexing(sample_weight, labelled)
        return super().score(_safe_indexing(X, labelled), y[labelled], sample_weight=weights)
