"""Bad inputs through the Python API: each raises a specific aekit error whose one-line message names
the problem (and the allowed values, where there is a choice). Fuzzing checks that garbage files
never escape as anything but an aekit error."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import aekit
from aekit import CheckpointError, ConfigError, DataError
from aekit.apps.export import export_model
from aekit.apps.sklearn import AutoencoderClassifier, AutoencoderTransformer
from aekit.config import EXAMPLES
from aekit.data import Dataset, load_dataset, read_idx, scale_to_unit, write_idx
from aekit.data.batches import encode_all
from aekit.data.datasets import idx_pair
from aekit.data.files import load_path
from aekit.models.classifier import EncoderClassifier

X = load_dataset("digits", "train").x[:64]  # (64, 1, 8, 8) real digits in [0, 1]
Y = load_dataset("digits", "train").y[:64]
FLAT = X.reshape(64, -1).numpy()  # (64, 64) for the sklearn estimators
OPTIMIZERS = "adam, adamw, adagrad, rmsprop, sgd"


def dense(**overrides):
    return aekit.create_model("dense", **{"input_shape": (1, 8, 8), "hidden": (16,), "code_size": 4, **overrides})


def train(data=X, val=None, **options):
    return aekit.fit(dense(), data, val, **{"epochs": 1, "progress": False, **options})


# --- files the cases write (each returns the path) -----------------------------------------------


def idx_file(tmp: Path, *, gz: bool, cut: int = 0, magic: bytes | None = None) -> Path:
    path = tmp / ("images.idx.gz" if gz else "images.idx")
    write_idx(path, (X[:10, 0] * 255).to(torch.uint8).numpy())
    raw = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
    if magic is not None:
        raw = magic + raw[len(magic):]
    raw = raw[: len(raw) - cut]
    path.write_bytes(gzip.compress(raw, mtime=0) if gz else raw)
    return path


def corrupt_gzip(tmp: Path) -> Path:
    path = idx_file(tmp, gz=True)
    data = bytearray(path.read_bytes())
    data[12:20] = b"\xff" * 8  # inside the deflate stream: zlib fails, not gzip's framing
    path.write_bytes(bytes(data))
    return path


def idx_labels_mismatch(tmp: Path) -> Dataset:
    images = idx_file(tmp, gz=False)
    labels = tmp / "labels.idx"
    write_idx(labels, Y[:9].to(torch.uint8).numpy())
    return idx_pair(images, labels, name="mine", classes=None)


def npz_file(tmp: Path, *, cut_half: bool = False, flip: bool = False, **arrays) -> Path:
    path = tmp / "data.npz"
    np.savez_compressed(path, **(arrays or {"x": FLAT[:20], "y": Y[:20].numpy()}))
    data = bytearray(path.read_bytes())
    if cut_half:
        data = data[: len(data) // 2]
    if flip:
        data[60:70] = b"\x00" * 10  # inside x.npy's compressed bytes
    path.write_bytes(bytes(data))
    return path


def npy_file(tmp: Path, array, *, cut: int = 0, allow_pickle: bool = False) -> Path:
    path = tmp / "data.npy"
    np.save(path, array, allow_pickle=allow_pickle)
    path.write_bytes(path.read_bytes()[: path.stat().st_size - cut])
    return path


def text_file(tmp: Path, content: str | bytes, name: str = "data.csv") -> Path:
    path = tmp / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def run_with_checkpoint(tmp: Path) -> Path:
    aekit.fit(dense(), X, epochs=1, progress=False, run_dir=tmp / "run")
    return tmp / "run"


NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")

CASES = [
    # --- model config --------------------------------------------------------------------------
    pytest.param(lambda t: dense(hidden_size=3), ConfigError,
                 r"^model: unknown key 'hidden_size' \(did you mean 'hidden' or 'code_size'\?\); allowed keys: .*code_size", id="model-unknown-key"),
    pytest.param(lambda t: aekit.create_model("dense"), ConfigError,
                 r"^model: missing required key 'input_shape'", id="model-missing-input-shape"),
    pytest.param(lambda t: dense(hidden="wide"), ConfigError,
                 r"^model.hidden: 'wide' must be a list of int", id="model-list-wrong-type"),
    pytest.param(lambda t: dense(code_size="big"), ConfigError,
                 r"^model.code_size: 'big' must be an integer", id="model-int-wrong-type"),
    pytest.param(lambda t: dense(code_size=True), ConfigError,
                 r"^model.code_size: true must be an integer", id="model-bool-is-not-int"),
    pytest.param(lambda t: dense(code_size=0), ConfigError,
                 r"^model.code_size: must be > 0, got 0", id="model-zero-code"),
    pytest.param(lambda t: dense(hidden=(32, -1)), ConfigError,
                 r"^model.hidden: widths must be > 0, got \[32, -1\]", id="model-negative-width"),
    pytest.param(lambda t: dense(input_shape=(0,)), ConfigError,
                 r"^model.input_shape: sizes must be > 0", id="model-zero-input"),
    pytest.param(lambda t: dense(input_shape=()), ConfigError,
                 r"^model.input_shape: must have at least one dimension", id="model-empty-input-shape"),
    pytest.param(lambda t: dense(weight_l2=-0.1), ConfigError,
                 r"^model.weight_l2: must be >= 0, got -0.1", id="model-negative-penalty"),
    pytest.param(lambda t: aekit.create_model("linear", input_shape=(64,), code_size=64), ConfigError,
                 r"^model.code_size: must be smaller than the input size 64", id="linear-code-not-smaller"),
    pytest.param(lambda t: aekit.create_model("transformer", input_shape=(64,)), ConfigError,
                 r"^model: unknown model 'transformer'; choose one of: .*dense.*linear", id="model-unknown-name"),
    pytest.param(lambda t: dense(activation="gelu"), ConfigError,
                 r"^model.activation: 'gelu' is not allowed; choose one of: relu, elu", id="model-unknown-activation"),
    pytest.param(lambda t: dense(recon_loss="l1"), ConfigError,
                 r"^model.recon_loss: 'l1' is not allowed; choose one of: bce, mse", id="model-unknown-loss"),
    pytest.param(lambda t: dense(output_activation="linear"), ConfigError,
                 r"^model.recon_loss: 'bce' needs output_activation 'sigmoid'; use recon_loss 'mse'",
                 id="model-bce-with-linear-output"),
    # --- training options ------------------------------------------------------------------------
    pytest.param(lambda t: train(optimizer="adamax"), ConfigError,
                 rf"^train.optimizer: 'adamax' is not allowed; choose one of: {OPTIMIZERS}", id="train-unknown-optimizer"),
    pytest.param(lambda t: train(epoch=3), ConfigError,
                 r"^train: unknown key 'epoch' \(did you mean 'epochs'\?\); allowed keys: .*epochs", id="train-unknown-key"),
    pytest.param(lambda t: train(epochs=0), ConfigError, r"^train.epochs: must be > 0, got 0", id="train-zero-epochs"),
    pytest.param(lambda t: train(batch_size=-8), ConfigError,
                 r"^train.batch_size: must be > 0, got -8", id="train-negative-batch"),
    pytest.param(lambda t: train(lr=0), ConfigError, r"^train.lr: must be > 0, got 0", id="train-zero-lr"),
    pytest.param(lambda t: train(lr="fast"), ConfigError, r"^train.lr: 'fast' must be a number", id="train-lr-wrong-type"),
    pytest.param(lambda t: train(early_stopping=0), ConfigError,
                 r"^train.early_stopping: must be > 0, got 0", id="train-zero-patience"),
    pytest.param(lambda t: train(amp="int8"), ConfigError,
                 r"^train.amp: 'int8' is not allowed; choose one of: off, bf16, fp16", id="train-unknown-amp"),
    pytest.param(lambda t: train(device="tpu"), ConfigError,
                 r"^train.device: 'tpu' is not allowed; choose auto, cpu, cuda, cuda:N or mps", id="train-unknown-device"),
    pytest.param(lambda t: train(device="cuda"), ConfigError,
                 r"^train.device: 'cuda' was asked for but CUDA is not available; use auto or cpu",
                 id="train-absent-cuda", marks=NO_CUDA),
    pytest.param(lambda t: train(resume=True), ConfigError,
                 r"^resume=True needs run_dir", id="train-resume-without-run-dir"),
    pytest.param(lambda t: train(run_dir=t / "empty", resume=True), CheckpointError,
                 r"^cannot resume: .* holds no checkpoint.safetensors", id="train-resume-empty-folder"),
    pytest.param(lambda t: train(run_dir=run_with_checkpoint(t)), ConfigError,
                 r"already holds a checkpoint; resume it or choose another folder", id="train-reuse-run-folder"),
    # --- data given to fit -----------------------------------------------------------------------
    pytest.param(lambda t: train(torch.rand(16, 10)), DataError,
                 r"^data samples have shape \(10,\) but the model expects \(1, 8, 8\)", id="data-wrong-shape"),
    pytest.param(lambda t: train(torch.rand(64)), DataError,
                 r"^a 1-d array of 64 values; give a batch \(N, ...\) of samples \(one sample: x\[None\]\)", id="data-1d"),
    pytest.param(lambda t: train(X, torch.rand(4, 3, 8, 8)), DataError,
                 r"^validation data: data samples have shape \(3, 8, 8\) but the model expects \(1, 8, 8\)",
                 id="data-val-wrong-shape"),
    pytest.param(lambda t: train(X, torch.full((4, 1, 8, 8), float("nan"))), DataError,
                 r"^validation data: the data contains NaN or infinite values", id="data-val-nan"),
    pytest.param(lambda t: train(torch.where(X > 0.9, float("nan"), X)), DataError,
                 r"the data contains NaN or infinite values; clean or impute them first", id="data-nan"),
    pytest.param(lambda t: train(torch.where(X > 0.9, float("inf"), X)), DataError,
                 r"the data contains NaN or infinite values", id="data-inf"),
    pytest.param(lambda t: train(X * 16), DataError,
                 r"^recon_loss 'bce' needs data in \[0, 1\] but values span \[0, 16\]; use recon_loss 'mse', or give data in \[0, 1\]",
                 id="data-outside-unit-with-bce"),
    pytest.param(lambda t: train(X[:0]), DataError, r"^the data set is empty", id="data-empty"),
    pytest.param(lambda t: train((X * 255).to(torch.uint8)), DataError,
                 r"^train data: inputs must be floating point, got torch.uint8; scale them to \[0, 1\] first",
                 id="data-integers"),
    pytest.param(lambda t: train({"x": X}), DataError,
                 r"^train data: expected a tensor or numpy array, got dict", id="data-not-an-array"),
    pytest.param(lambda t: train("my_data.npz"), DataError, r"^train data: expected a tensor or numpy array, got str; "
                 r"read 'my_data.npz' first: aekit.data.load_dataset\(name or path, 'train'\)$", id="data-a-path"),
    pytest.param(lambda t: train((X, Y[:63])), DataError,
                 r"^train data: 64 samples but 63 labels", id="data-labels-mismatch"),
    pytest.param(lambda t: train((X, Y, Y)), DataError,
                 r"^train data: a tuple must be \(x, y\), got 3 items", id="data-tuple-of-three"),
    pytest.param(lambda t: Dataset(X, Y[:3]), DataError, r"^data: 64 samples but 3 labels", id="dataset-labels-mismatch"),
    # --- data sets and files ---------------------------------------------------------------------
    pytest.param(lambda t: load_dataset("mnsit"), ConfigError,
                 r"^data.name: unknown data set 'mnsit'; choose one of: .*mnist", id="dataset-unknown-name"),
    pytest.param(lambda t: load_dataset("digits", "validation"), ConfigError,
                 r"^split 'validation' is not allowed; choose one of: train, test", id="dataset-unknown-split"),
    pytest.param(lambda t: load_path(t / "missing.npy"), DataError,
                 r"missing.npy does not exist; give a .npy, .npz, .csv or IDX file \(train-images-idx3-ubyte.gz\), a folder of images or of texts, or one image", id="file-missing"),
    pytest.param(lambda t: load_path("no-such-folder/missing.npy"), DataError,
                 r"^no-such-folder/missing.npy does not exist \(a relative path is read from the current folder, /",
                 id="file-missing-relative"),
    pytest.param(lambda t: load_dataset(str(text_file(t, "1,2", "data.txt"))), DataError,
                 r"unsupported file type '.txt'; use a .npy, .npz, .csv or IDX file", id="file-unsupported-type"),
    pytest.param(lambda t: read_idx(idx_file(t, gz=False, cut=5)), DataError,
                 r"images.idx is truncated: its header promises 640 data bytes, found 635", id="idx-truncated"),
    pytest.param(lambda t: read_idx(idx_file(t, gz=True, cut=5)), DataError,
                 r"images.idx.gz is truncated: its header promises 640 data bytes, found 635", id="idx-gz-truncated-content"),
    pytest.param(lambda t: read_idx(text_file(t, idx_file(t, gz=False).read_bytes() + bytes(100), "long.idx")), DataError,
                 r"long.idx holds 100 bytes past its data: its header promises 640 data bytes, found 740", id="idx-too-long"),
    pytest.param(lambda t: np.savez(t / "h.npz", x=X.numpy(), y=np.eye(3)[np.arange(len(X)) % 3]) or load_path(t / "h.npz"),
                 DataError, r"labels shaped \(64, 3\), one row a sample; .* one-hot rows become class numbers by "
                 r"y.argmax\(1\)", id="npz-one-hot-labels"),
    pytest.param(lambda t: read_idx(text_file(t, idx_file(t, gz=True).read_bytes()[:30], "cut.gz")), DataError,
                 r"cut.gz is truncated or not gzip .*; download it again", id="idx-gz-truncated-stream"),
    pytest.param(lambda t: read_idx(corrupt_gzip(t)), DataError,
                 r"is truncated or not gzip \(Error -3 while decompressing", id="idx-gz-corrupt-stream"),
    pytest.param(lambda t: read_idx(idx_file(t, gz=False, magic=b"\x1f\x8b")), DataError,
                 r"images.idx is not an IDX file \(bad magic number\)", id="idx-bad-magic"),
    pytest.param(lambda t: read_idx(idx_file(t, gz=False, cut=639 + 12)), DataError,
                 r"images.idx is truncated: its IDX header is incomplete", id="idx-truncated-header"),
    pytest.param(idx_labels_mismatch, DataError,
                 r"^mine: images.idx has 10 images but labels.idx has 9 labels", id="idx-labels-mismatch"),
    pytest.param(lambda t: load_path(npz_file(t, cut_half=True)), DataError,
                 r"data.npz is truncated or not a .npz archive", id="npz-truncated"),
    pytest.param(lambda t: load_path(npz_file(t, flip=True)), DataError,
                 r"data.npz is truncated or not a .npz archive", id="npz-corrupt"),
    pytest.param(lambda t: load_path(npz_file(t, x=FLAT[:10], y=np.arange(9))), DataError,
                 r"data.npz: 10 samples but 9 labels", id="npz-labels-mismatch"),
    pytest.param(lambda t: load_path(npz_file(t, a=FLAT[:10], b=FLAT[:10])), DataError,
                 r"data.npz: name the arrays x \(and y\) or x_train/y_train; found: a, b", id="npz-unnamed-arrays"),
    pytest.param(lambda t: load_path(npz_file(t, x=FLAT[:10], y=np.full(10, 0.5))), DataError,
                 r"data.npz: labels must be integers, got float64", id="npz-fractional-labels"),
    pytest.param(lambda t: load_path(npy_file(t, FLAT[:10], cut=40)), DataError,
                 r"data.npy is truncated: its header declares 2,560 bytes of data \(\(10, 64\) float32\), and it holds 2,520$", id="npy-truncated"),
    pytest.param(lambda t: load_path(npy_file(t, np.array([{"a": 1}]), allow_pickle=True)), DataError,
                 r"data.npy holds Python objects \(dtype object\), which aekit does not unpickle; save arrays of numbers",
                 id="npy-pickled-objects"),
    pytest.param(lambda t: load_path(npy_file(t, np.array([["a", "b"]]))), DataError,
                 r"data.npy: values must be real numbers, got dtype <U1", id="npy-strings"),
    pytest.param(lambda t: load_path(npy_file(t, np.array([[1 + 2j, 3j]]))), DataError,
                 r"data.npy: values must be real numbers, got dtype complex128", id="npy-complex"),
    pytest.param(lambda t: load_path(npy_file(t, np.arange(5.0))), DataError,
                 r"data.npy holds an array of shape \(5,\); expected \(N, features\) or \(N, C, H, W\)", id="npy-1d"),
    pytest.param(lambda t: load_path(npy_file(t, np.where(np.arange(4 * 8 * 8 * 3).reshape(4, 8, 8, 3) == 1 * 192 + 2 * 24 + 5 * 3 + 1,
                                                          np.nan, 0.5))), DataError,  # channel-last: said as (c, h, w)
                 r"the first at sample 1, position \(1, 2, 5\) \(channel, row, column\)", id="npy-nan-channel-last"),
    pytest.param(lambda t: load_path(npy_file(t, np.full((3, 2), 1e300))), DataError,
                 r"data.npy: values exceed the float32 range", id="npy-beyond-float32"),
    pytest.param(lambda t: load_path(text_file(t, "a,b,label\n0.1,0.2,1\n0.3,0.4,0\n0.5\n")), DataError,
                 r"data.csv: line 4 has 1 values, expected 3 \(as its first row; a truncated or ragged file", id="csv-truncated"),
    pytest.param(lambda t: load_path(text_file(t, "a,b\n0.1,x\n")), DataError,
                 r"data.csv: every value must be a number", id="csv-not-numbers"),
    pytest.param(lambda t: load_path(text_file(t, "a,b\n0.1,nan\n")), DataError,
                 r"data.csv: column 'b', line 2: 'nan' is NaN or infinite; clean or impute", id="csv-nan"),
    pytest.param(lambda t: load_path(text_file(t, "")), DataError, r"data.csv is empty", id="csv-empty"),
    pytest.param(lambda t: load_path(text_file(t, "a,b\n")), DataError,
                 r"data.csv has a header but no data rows", id="csv-header-only"),
    pytest.param(lambda t: load_path(text_file(t, b"\xff\xfe\x00\x01binary")), DataError,
                 r"data.csv is not a readable text CSV file", id="csv-binary"),
    pytest.param(lambda t: load_path(text_file(t, "a,label\n0.1,inf\n0.2,1\n")), DataError,
                 r"data.csv: labels must be integers, got 'inf' in column 'label'", id="csv-infinite-label"),
    pytest.param(lambda t: load_path(text_file(t, "0.5,0.5\n"), split="test"), DataError,
                 r"holds no separate test part; evaluate on a validation split instead", id="csv-no-test-split"),
    pytest.param(lambda t: scale_to_unit(FLAT, name="mine", scale="zscore"), DataError,
                 r"^mine: scale 'zscore' is not allowed; choose one of: auto, global, minmax, column, standard, none$", id="scale-unknown"),
    pytest.param(lambda t: scale_to_unit(FLAT.tolist(), name="mine"), DataError,  # (a bug hunt: AttributeError)
                 r"^mine: a list; give a numpy array \(np.asarray\(values\), df.to_numpy\(\), tensor.numpy\(\)\)$",
                 id="scale-a-list"),
    # --- checkpoints and export ------------------------------------------------------------------
    pytest.param(lambda t: aekit.load_model(t / "nothing.safetensors"), CheckpointError,
                 r"nothing.safetensors does not exist", id="checkpoint-missing"),
    pytest.param(lambda t: export_model(dense(), t / "m.onnx", format="tflite"), ConfigError,
                 r"^export: format 'tflite' is not allowed; choose one of: onnx, torchscript", id="export-unknown-format"),
    pytest.param(lambda t: export_model(dense(), t / "m.onnx", part="bottleneck"), ConfigError,
                 r"^export: part 'bottleneck' is not allowed; choose one of: encoder, decoder, full", id="export-unknown-part"),
    # --- the scikit-learn estimators -------------------------------------------------------------
    pytest.param(lambda t: AutoencoderTransformer(model="nope").fit(FLAT), ConfigError,
                 r"^model: unknown model 'nope'; choose one of: auto \(chosen from the data\), .*dense.* \(or your own: import the "
                 r"\.py file that registers it", id="sklearn-unknown-model"),  # (an extension trial: "not an autoencoder")
    pytest.param(lambda t: AutoencoderTransformer(model_params={"code": 3}).fit(FLAT), ConfigError,
                 r"^model_params: unknown key 'code' \(did you mean 'code_l2' or 'code_size'\?\); allowed keys: .*code_size", id="sklearn-unknown-model-key"),
    pytest.param(lambda t: AutoencoderTransformer(epochs=0).fit(FLAT), ConfigError,
                 r"^epochs: must be > 0, got 0", id="sklearn-zero-epochs"),
    pytest.param(lambda t: AutoencoderTransformer(optimizer="lbfgs").fit(FLAT), ConfigError,
                 rf"^optimizer: 'lbfgs' is not allowed; choose one of: {OPTIMIZERS}", id="sklearn-unknown-optimizer"),
    pytest.param(lambda t: AutoencoderTransformer(model_params={"recon_loss": "bce"}).fit(FLAT * 16), DataError,
                 r"^recon_loss 'bce' needs data in \[0, 1\]", id="sklearn-explicit-bce-outside-unit"),
    pytest.param(lambda t: AutoencoderTransformer(epochs=1).fit(FLAT).transform(FLAT[:, :10]), DataError,
                 r"^X has 10 features, but AutoencoderTransformer is expecting 64 features", id="sklearn-wrong-width"),
    pytest.param(lambda t: AutoencoderTransformer().fit(np.where(FLAT > 0.9, np.nan, FLAT)), DataError,
                 r"^Input X contains NaN", id="sklearn-nan"),
    pytest.param(lambda t: AutoencoderTransformer().fit(FLAT[0]), DataError,
                 r"^Expected 2D array, got 1D array instead: Reshape your data", id="sklearn-1d"),
    pytest.param(lambda t: AutoencoderTransformer(model_params={"input_shape": 64}).fit(FLAT), ConfigError,
                 r"^model_params.input_shape: 64 must be a list of int", id="sklearn-input-shape-wrong-type"),
    pytest.param(lambda t: AutoencoderClassifier(finetune_epochs=0).fit(FLAT, Y.numpy()), ConfigError,
                 r"^finetune.epochs: must be > 0, got 0", id="sklearn-zero-finetune-epochs"),
    pytest.param(lambda t: AutoencoderClassifier(epochs=1).fit(FLAT, np.zeros(64)), DataError,
                 r"^y holds one class \(0.0\); a classifier needs at least 2 classes", id="sklearn-one-class"),
    pytest.param(lambda t: AutoencoderClassifier(epochs=1).fit(FLAT, np.linspace(0, 1, 64)), DataError,
                 r"^Unknown label type: continuous", id="sklearn-continuous-target"),
    pytest.param(lambda t: AutoencoderClassifier(epochs=1).fit(FLAT, Y[:60].numpy()), DataError,
                 r"^Found input variables with inconsistent numbers of samples: \[64, 60\]", id="sklearn-labels-mismatch"),
    pytest.param(lambda t: AutoencoderTransformer(device="gpu").fit(FLAT), ConfigError,
                 r"^device: 'gpu' is not allowed; choose auto, cpu, cuda, cuda:N or mps", id="sklearn-unknown-device"),
    pytest.param(lambda t: AutoencoderTransformer(epochs=1).fit(FLAT[:1]), DataError,
                 r"needs at least 2 samples, got 1 sample to fit on \(the training part, after any validation split\); "
                 r"give more samples", id="sklearn-one-sample"),
    # --- the second practitioner's trial: options that were ignored or failed mid-fit ------------------------
    pytest.param(lambda t: train(epochs=3, time_budget=1), ConfigError,
                 r"^epochs: this run has time_budget=1, which decides how long it trains; give one", id="fit-epochs-and-budget"),
    pytest.param(lambda t: train(monitor="val_loss", early_stopping=1), ConfigError,
                 r"^monitor: 'val_loss' needs validation data; pass val", id="fit-val-monitor-without-val"),
    pytest.param(lambda t: aekit.fit(dense().double(), X, epochs=1, progress=False), ConfigError,
                 r"^model: its parameters are float64; aekit trains float32 models .* call model.float\(\)", id="fit-float64-model"),
    pytest.param(lambda t: dense().encode_array(np.full((2, 64), np.nan)), DataError,
                 r"^data: the data contains NaN or infinite values; .*the first at sample 0, feature 0", id="encode-nan"),
    pytest.param(lambda t: __import__("aekit.analysis", fromlist=["x"]).learning_curves(["runs/a"]), ConfigError,
                 r"^learning_curves: 'run 1' is not a training history .*got str", id="curves-of-a-path"),
    pytest.param(lambda t: load_dataset("digits").take(2.5), ConfigError,
                 r"^limit must be a whole number > 0 \(or None: all\), got 2.5", id="take-a-fraction"),
    # --- the Python API trial of 2026-12-05 ---------------------------------------------------------------------
    pytest.param(lambda t: aekit.save_model(dense(), t / "m.pt"), CheckpointError,
                 r"m.pt: a model file's name ends in .safetensors \(or give a folder\)$", id="save-model-pt"),
    pytest.param(lambda t: (t / "notes.safetensors").write_text("mine") and aekit.save_model(dense(), t / "notes.safetensors"),
                 CheckpointError, r"notes.safetensors is there and is not a model saved by aekit", id="save-model-over-a-file"),
    pytest.param(lambda t: aekit.load_model(dense()), CheckpointError,
                 r"^load_model: give the path of a run folder .*, got DenseAutoencoder$", id="load-model-of-a-model"),
    pytest.param(lambda t: aekit.load_model(aekit.save_model(dense(), t), map_location="gpu"), ConfigError,
                 r"^map_location: 'gpu' is not a device; give 'cpu', 'cuda' or 'cuda:N'$", id="load-model-bad-device"),
    pytest.param(lambda t: aekit.load_model(aekit.save_model(dense(), t), map_location="meta"), ConfigError,
                 r"^map_location: 'meta' holds no weights; give 'cpu', 'cuda' or 'cuda:N'$", id="load-model-meta"),
    pytest.param(lambda t: aekit.load_model(aekit.save_model(dense(), t), map_location="mps"), ConfigError,
                 r"^map_location: 'mps' was asked for but MPS is not available; use 'cpu'$", id="load-model-no-mps",
                 marks=pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")),
    pytest.param(lambda t: aekit.fit("dense", X), ConfigError,
                 r"^model: got the string 'dense'; give a model: aekit.create_model\('dense', ...\)", id="fit-a-name"),
    pytest.param(lambda t: aekit.fit(torch.nn.Linear(64, 4), X), ConfigError,
                 r"^model: Linear is not a model of aekit's; give one from aekit.create_model", id="fit-a-torch-module"),
    pytest.param(lambda t: aekit.fit(dense().to("meta"), X), ConfigError,
                 r"^model: its weights are on the meta device", id="fit-a-meta-model"),
    pytest.param(lambda t: train(callbacks=[lambda trainer, logs: None]), ConfigError,
                 r"^callbacks: a list of aekit Callback objects \(LambdaCallback\(on_epoch_end=f\) wraps", id="fit-a-function-callback"),
    pytest.param(lambda t: dense().encode_array(X, batch_size=0), ConfigError,
                 r"^batch_size: must be a whole number > 0, got 0$", id="encode-batch-size-0"),
    pytest.param(lambda t: encode_all(EncoderClassifier.on(dense(), 3), X), ConfigError,
                 r"^model: 'encoder-classifier' has no encode\(x\) and decode\(z\) of its own", id="encode-all-classifier"),
    pytest.param(lambda t: aekit.TrainConfig(epochs="3"), ConfigError, r"^epochs: '3' must be an integer$", id="trainconfig-text"),
    pytest.param(lambda t: aekit.TrainConfig(optimizer="Adam"), ConfigError,
                 rf"^optimizer: 'Adam' is not allowed; choose one of: {OPTIMIZERS}$", id="trainconfig-optimizer-case"),
    pytest.param(lambda t: Dataset(torch.zeros(3, 4), torch.tensor([0, 1, 5]), classes=["a", "b"]), DataError,
                 r"^data: label 5 has no class name: classes holds 2 names", id="dataset-label-without-name"),
    pytest.param(lambda t: train(torch.tensor(0.5)), DataError,
                 r"^a 0-d array of 1 value; give a batch \(N, ...\) of samples", id="data-0d"),
    pytest.param(lambda t: __import__("aekit.models.ladder", fromlist=["x"]).LadderConfig(input_shape=(4,), n_classes="3"),
                 ConfigError, r"^n_classes: '3' must be an integer$", id="ladder-config-text"),
    pytest.param(lambda t: aekit.register_model("myfn")(lambda: None), ConfigError,
                 r"^register_model\('myfn'\): decorates a model class whose Config is a dataclass", id="register-a-function"),
    pytest.param(lambda t: aekit.register_model("x", kind="bogus"), ConfigError,
                 r"^register_model: kind 'bogus' is not allowed; choose one of: autoencoder, classifier, semi-supervised$",
                 id="register-a-bad-kind"),
    pytest.param(lambda t: aekit.list_models("classifiers"), ConfigError, r"^list_models: kind 'classifiers' is not allowed",
                 id="list-a-bad-kind"),
    pytest.param(lambda t: train(augment_shift=8), aekit.ConfigError,
                 r"^train.augment_shift: 8 pixels moves images out of their 8 x 8 frame; give fewer than 8$", id="fit-shift-out"),
    pytest.param(lambda t: Dataset([[0.0, 1.0]]), DataError, r"^data: x must be a tensor or a numpy array, got list$",
                 id="dataset-of-a-list"),
]

# --- CLI cases -------------------------------------------------------------------------------------
# --- the command line: exit status 2, one stderr line, no traceback, no run folder changed ------------

CLI_CASES = [
    pytest.param(["train", "{tmp}/missing.yaml"], r"config file .*missing.yaml does not exist", id="cli-missing-config"),
    pytest.param(["train", "{cfg}", "trian.epochs=3"], r"config: unknown key 'trian'", id="cli-unknown-section"),
    pytest.param(["train", "{cfg}", "train.epochz=3"], r"train: unknown key 'epochz'", id="cli-unknown-train-key"),
    pytest.param(["train", "{cfg}", "train.epochs"], r"must look like section.key=value", id="cli-bad-override"),
    pytest.param(["train", "{cfg}", "model.name=resnet"], r"unknown model 'resnet'", id="cli-unknown-model"),
    pytest.param(["train", "{cfg}", "data.name=imagenet"], r"unknown data set 'imagenet'", id="cli-unknown-data"),
    pytest.param(["train", "{cfg}", "train.lr=-1"], r"train.lr: must be > 0", id="cli-negative-lr"),
    pytest.param(["train", "{cfg}", "model.recon_loss=hinge"], r"recon_loss: 'hinge' is not allowed", id="cli-unknown-loss"),
    pytest.param(["train", "{cfg}", "data.val_fraction=1.5"], r"val_fraction: must be in \[0, 1\)", id="cli-bad-val-fraction"),
    pytest.param(["resume", "{tmp}"], r"is not a run folder", id="cli-resume-empty-folder"),
    pytest.param(["evaluate", "{tmp}/nowhere"], r"nowhere does not exist; give a run folder", id="cli-evaluate-missing"),
    pytest.param(["export", "{tmp}/nowhere", "--format", "torchscript"], r"does not exist", id="cli-export-missing"),
    pytest.param(["experiment", "run", "no-such-experiment"], r"unknown experiment 'no-such-experiment'", id="cli-unknown-experiment"),
    pytest.param(["models", "nonexistent"], r"unknown model 'nonexistent'", id="cli-models-unknown"),
]


@pytest.mark.parametrize(("argv", "pattern"), CLI_CASES)
def test_cli_bad_input_is_one_line(argv, pattern, tmp_path, capsys):
    import re

    import yaml

    from aekit.apps.cli import main

    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"model": {"name": "dense", "hidden": [8], "code_size": 2},
                                   "data": {"name": "digits"}, "train": {"epochs": 1, "progress": False},
                                   "output": {"dir": str(tmp_path / "runs")}}))
    args = [a.format(tmp=tmp_path, cfg=cfg) for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aekit: error: ") and "\n" not in err and "Traceback" not in err, err
    assert re.search(pattern, err), err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize(("make", "error", "pattern"), CASES)
def test_bad_input_raises_a_clear_aekit_error(make, error, pattern, tmp_path):
    with pytest.raises(error, match=pattern) as info:
        make(tmp_path)
    message = str(info.value)
    assert "\n" not in message, f"not one line: {message!r}"
    assert type(info.value).__module__.startswith("aekit"), type(info.value)


# --- fuzzing: garbage files raise DataError or load; anything else is a bug ------------------------

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=st.binary(max_size=200), gz=st.booleans())
def test_garbage_idx_raises_only_data_error(tmp_path, data, gz):
    path = tmp_path / ("g.idx.gz" if gz else "g.idx")
    path.write_bytes(data)
    try:
        read_idx(path)
    except DataError:
        pass


@FUZZ
@given(payload=st.binary(max_size=120), header=st.sampled_from([b"", b"\x00\x00\x08\x03", b"\x00\x00\x0d\x01"]))
def test_garbage_inside_valid_gzip_raises_only_data_error(tmp_path, payload, header):
    path = tmp_path / "g.idx.gz"
    path.write_bytes(gzip.compress(header + payload, mtime=0))
    try:
        read_idx(path)
    except DataError:
        pass


@FUZZ
@given(position=st.integers(min_value=0), value=st.integers(min_value=1, max_value=255))
def test_damaged_gzip_idx_raises_only_data_error(tmp_path, position, value):
    path = idx_file(tmp_path, gz=True)
    data = bytearray(path.read_bytes())
    data[position % len(data)] ^= value
    path.write_bytes(bytes(data))
    try:
        array = read_idx(path)
    except DataError:
        return
    assert array.shape == (10, 8, 8)  # only an edit that gzip and the IDX header both accept


@FUZZ
@given(content=st.binary(max_size=200), suffix=st.sampled_from([".csv", ".npy", ".npz"]))
def test_garbage_data_files_raise_only_data_error(tmp_path, content, suffix):
    path = tmp_path / f"g{suffix}"
    path.write_bytes(content)
    try:
        ds = load_path(path)
    except DataError:
        return
    assert ds.x.ndim >= 2 and torch.isfinite(ds.x).all()


@FUZZ
@given(array=hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_]),
    shape=hnp.array_shapes(min_dims=2, max_dims=3, max_side=6),
))
def test_scaled_data_is_finite_in_unit_interval_or_refused(array):
    try:
        out = scale_to_unit(array, name="fuzz")
    except DataError:
        return
    assert out.dtype == np.float32 and out.shape == array.shape
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


# --- every user path keeps its promise (issue 13) ---------------------------------------------------


def run_config(tmp: Path, **data) -> Path:
    import yaml

    cfg = tmp / "c.yaml"
    cfg.write_text(yaml.safe_dump({"model": {"name": "dense", "hidden": [8], "code_size": 2},
                                   "data": {"name": "digits", **data}, "train": {"epochs": 1, "progress": False},
                                   "output": {"dir": str(tmp / "runs")}}))
    return cfg


def cli(args: list, capsys) -> tuple[int, str, str]:
    from aekit.apps.cli import main

    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err.strip()


def one_line_error(err: str) -> bool:
    return err.startswith("aekit: error: ") and "\n" not in err and "Traceback" not in err


IMAGES = (X[:40, 0].numpy() * 255).astype(np.uint8)  # (40, 8, 8) digits as stored in files


def cifar_folder(tmp: Path, *, test_batch: bytes | None = None, data=None) -> Path:
    """tmp/cifar-10-batches-py/ (the archive unpacked straight into the data folder), 4 images a batch."""
    import pickle

    folder = tmp / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (4, 3072)).astype(np.uint8) if data is None else data,
                 b"labels": [0, 1, 2, 3]}
        (folder / name).write_bytes(pickle.dumps(batch))
    if test_batch is not None:
        (folder / "test_batch").write_bytes(test_batch)
    return tmp


TEST_PART_CASES = [  # (npz arrays, what the one-line error says)
    pytest.param({"x_test": np.where(IMAGES[:10] > 200, np.nan, IMAGES[:10] / 255.0)},
                 r"the data contains NaN or infinite values", id="x-test-nan"),
    pytest.param({"x_test": IMAGES[:10], "y_test": np.arange(7)}, r"10 samples but 7 labels", id="y-test-length"),
    pytest.param({"x_test": np.zeros((10, 10, 10), np.uint8)},
                 r"^aekit: error: test data \(data\): data samples have shape \(1, 10, 10\) but the model expects \(1, 8, 8\)",
                 id="x-test-other-shape"),
]


@pytest.mark.parametrize(("arrays", "pattern"), TEST_PART_CASES)
def test_unusable_test_part_is_refused_before_training(arrays, pattern, tmp_path, capsys):
    """Issue 13.1-2: never the validation split in its place, never a crash after training."""
    import re

    path = tmp_path / "data.npz"
    np.savez(path, x_train=IMAGES, y_train=Y[:40].numpy(), **arrays)
    status, out, err = cli(["train", run_config(tmp_path), f"data.name={path}"], capsys)
    assert status == 2 and one_line_error(err) and re.search(pattern, err), err
    assert "val set" not in out and not (tmp_path / "runs").exists()


def test_corrupt_cifar_test_batch_is_refused(tmp_path, capsys, monkeypatch):
    """Issue 13.1 and 13.4: cifar-10-batches-py/ straight in the data folder is found; its bad test_batch refused."""
    monkeypatch.setenv("AEKIT_DATA_DIR", str(cifar_folder(tmp_path, test_batch=b"\x80\x04garbage")))
    assert load_dataset("cifar10", "train").sample_shape == (3, 32, 32)  # found without a cifar10/ folder
    status, _, err = cli(["train", run_config(tmp_path), "data.name=cifar10", "data.val_fraction=0"], capsys)
    assert status == 2 and one_line_error(err) and "test_batch is truncated or not a pickle" in err, err
    assert not (tmp_path / "runs").exists()


def test_cifar_batch_of_floats_names_the_dtype(tmp_path):
    """Issue 13.6."""
    cifar_folder(tmp_path, data=np.zeros((4, 3072), np.float32))
    with pytest.raises(DataError, match=r"must be a uint8 array of shape \(N, 3072\), got a float32 array of shape \(4, 3072\)"):
        load_dataset("cifar10", "test", root=tmp_path)


def test_evaluate_refuses_a_test_part_of_another_shape(tmp_path, capsys):
    """Issue 13.2: `aekit evaluate` says what is wrong instead of 'mat1 and mat2 shapes cannot be multiplied'."""
    path = tmp_path / "data.npz"
    np.savez(path, x_train=IMAGES, y_train=Y[:40].numpy(), x_test=IMAGES[:10])
    assert cli(["train", run_config(tmp_path), f"data.name={path}", "output.name=r"], capsys)[0] == 0
    np.savez(path, x_train=IMAGES, y_train=Y[:40].numpy(), x_test=np.zeros((10, 32, 32), np.uint8))
    status, _, err = cli(["evaluate", tmp_path / "runs" / "r"], capsys)
    assert status == 2 and one_line_error(err) and "samples of shape [1, 32, 32], but the run was trained on samples of shape [1, 8, 8]" in err


def test_a_test_part_removed_after_training_is_refused_not_replaced_by_the_validation_split(tmp_path, capsys):
    """A data trial: with x_test gone from the npz (test.csv, a test/ folder alike), `aekit evaluate` printed "val
    set, 21 samples" and wrote that over the run's test figures in metrics.json, without a word."""
    path = tmp_path / "data.npz"
    np.savez(path, x_train=IMAGES, y_train=Y[:40].numpy(), x_test=IMAGES[:10])
    assert cli(["train", run_config(tmp_path), f"data.name={path}", "output.name=r"], capsys)[0] == 0
    run = tmp_path / "runs" / "r"
    before = (run / "metrics.json").read_text()
    assert json.loads(before)["split"] == "test"
    np.savez(path, x_train=IMAGES, y_train=Y[:40].numpy())
    for command in (["evaluate", run], ["resume", run, "--epochs", "3"]):
        status, _, err = cli(command, capsys)
        assert status == 2 and one_line_error(err), err
        assert f"was trained with a test part of 10 samples in {path}, which it no longer holds; put the test part " \
               "back, or train a new run on the data as they are" in err
    assert (run / "metrics.json").read_text() == before
    from aekit.apps.report import write_report

    page = write_report([run], tmp_path / "report.html").read_text()
    assert "No latent map" not in page and "validation" in page  # the report's map: the validation samples, named so
    np.savez(path, x_train=IMAGES, y_train=Y[:40].numpy(), x_test=IMAGES[:10])  # put back: evaluated again
    assert cli(["evaluate", run], capsys)[0] == 0


@pytest.mark.parametrize(("shape", "layout", "expected"), [
    ((40, 8, 8), "auto", (1, 8, 8)),  # (N, H, W): one channel
    ((40, 8, 8, 3), "auto", (3, 8, 8)),  # channel-last, as Keras stores CIFAR
    ((40, 3, 8, 8), "auto", (3, 8, 8)),  # channel-first, as torch does
    ((40, 4, 8, 3), "nhwc", (3, 4, 8)),  # ambiguous: forced
    ((40, 4, 8, 3), "nchw", (4, 8, 3)),
])
def test_image_arrays_in_every_layout(tmp_path, shape, layout, expected):
    """Issue 13.3: (N, H, W), (N, H, W, C) and (N, C, H, W) load as (N, C, H, W)."""
    x = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    data = load_dataset(str(tmp_path / "x.npy"), layout=layout)
    assert data.sample_shape == expected
    if shape == (40, 8, 8, 3):  # the same pixels, moved: channel c of image i is x[i, :, :, c]
        assert np.array_equal(data.x[5, 2].numpy(), x[5, :, :, 2] / np.float32(255))


def test_channel_last_images_train_a_conv_model(tmp_path, capsys):
    """Issue 13.3: (N, 32, 32, 3) was read as 32 channels of 32x3 ("multiples of 4")."""
    import yaml

    np.save(tmp_path / "rgb.npy", np.random.default_rng(0).integers(0, 256, (16, 8, 8, 3)).astype(np.uint8))
    cfg = tmp_path / "conv.yaml"
    cfg.write_text(yaml.safe_dump({"model": {"name": "conv", "channels": [4], "code_size": 2},
                                   "data": {"name": str(tmp_path / "rgb.npy"), "val_fraction": 0},
                                   "train": {"epochs": 1, "progress": False, "batch_size": 8},
                                   "output": {"dir": str(tmp_path / "runs"), "name": "r"}}))
    status, out, err = cli(["train", cfg], capsys)
    assert status == 0, err
    assert "train set, 16 samples" in out and (tmp_path / "runs" / "r" / "model.safetensors").is_file()
    assert cli(["train", cfg, "data.layout=nhwc3"], capsys)[2].startswith(
        "aekit: error: data.layout: 'nhwc3' is not allowed; choose one of: auto, nchw, nhwc")


def test_csv_is_read_in_at_most_three_times_its_array(tmp_path):
    """Issue 13.5: the csv module's strings took 19x the file."""
    import tracemalloc

    rng = np.random.default_rng(0)
    table = np.column_stack([rng.integers(0, 10, 2000), rng.integers(0, 256, (2000, 300))])
    path = tmp_path / "pixels.csv"
    np.savetxt(path, table, fmt="%d", delimiter=",", header="label," + ",".join(f"p{i}" for i in range(300)), comments="")
    tracemalloc.start()
    try:
        data = load_path(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data.sample_shape == (300,) and data.y.tolist() == table[:, 0].tolist()
    assert np.allclose(data.x.numpy(), table[:, 1:] / 255.0)
    assert peak <= 3 * data.x.numpy().nbytes, f"peak {peak / 1e6:.1f} MB for a {data.x.numpy().nbytes / 1e6:.1f} MB array"


def test_resuming_with_fewer_epochs_than_done_is_refused_and_as_many_is_a_no_op(tmp_path):
    train(epochs=3, run_dir=tmp_path / "run")
    before = (tmp_path / "run" / "checkpoint.safetensors").read_bytes()
    with pytest.raises(ConfigError, match=r"has trained 3 epochs already, more than epochs=2; give more to train longer"):
        aekit.fit(dense(), X, epochs=2, run_dir=tmp_path / "run", resume=True, progress=False)
    history = aekit.fit(dense(), X, epochs=3, run_dir=tmp_path / "run", resume=True, progress=False)
    assert history["epoch"] == [1, 2, 3] and (tmp_path / "run" / "checkpoint.safetensors").read_bytes() == before


def test_float64_columns_that_float32_rounds_away_are_warned_of():
    rows = np.random.default_rng(0).random((40, 3))
    rows[:, 2] = 0.1  # a constant float32 cannot hold: nothing varies, nothing lost (a trial was told to standardise)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ordinary floats: no warning
        AutoencoderTransformer(epochs=1).fit(rows)
    rows[:, 1] = 1.7e9 + 60 * np.arange(40)  # Unix timestamps a minute apart: float32 steps of 128
    with pytest.warns(UserWarning, match=r"^X: feature\(s\) 1 vary little for their size, and float32"):
        AutoencoderTransformer(epochs=1).fit(rows)
    model = aekit.create_model("dense", input_shape=(3,), hidden=[8], code_size=2, recon_loss="mse",
                               output_activation="linear")
    with pytest.warns(UserWarning, match=r"^train data: feature\(s\) 1 vary little") as caught:
        aekit.fit(model, rows, epochs=1, progress=False)
    assert caught[0].filename == __file__  # said where the user called fit


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated")  # (a DeprecationWarning in torch 2.13, a FutureWarning from 2.14)
def test_exported_models_give_outputs_without_gradients(tmp_path):
    path = export_model(dense(), tmp_path / "m.pt", format="torchscript")
    out = torch.jit.load(str(path))(X[:2])
    assert not out.requires_grad and out.numpy().shape == (2, 4) and not torch.jit.load(str(path)).training
    assert export_model(dense(), path, format="torchscript") == path  # an export is replaced by a new one
    torch.save({"weights": 1}, tmp_path / "mine.pt")  # a user's own .pt is not
    with pytest.raises(ConfigError, match=r"mine.pt is there and is not an export of aekit's \(torchscript\); give a new file"):
        export_model(dense(), tmp_path / "mine.pt", format="torchscript")


def test_a_run_that_diverged_before_its_first_checkpoint_leaves_logs_that_do_not_block_a_retry(tmp_path, capsys):
    """A trial: with train.log=[csv,tensorboard] a loss that diverged in epoch 1 left its logs (which show why), and
    the same command with a sane learning rate was refused ("holds files ... and no run to resume")."""
    pytest.importorskip("tensorboard")  # (the dev extra has it)
    from aekit.apps.cli import main

    args = ["train", "data.name=digits", "model.name=dense", "model.hidden=[8]", "model.code_size=2", "train.epochs=1",
            f"output.dir={tmp_path}", "output.name=r", "--quiet", "train.log=[csv,tensorboard]"]
    assert main([*args, "train.lr=1e12", "train.optimizer=sgd"]) == 2
    assert {"log.csv", "tensorboard"} <= {p.name for p in (tmp_path / "r").iterdir()}
    capsys.readouterr()
    assert main(args) == 0
    assert re.search(r"holds the start of a run stopped before its first checkpoint \(.*log.csv.*tensorboard\); it is "
                     r"trained again there", capsys.readouterr().err)
    assert (tmp_path / "r" / "checkpoint.safetensors").is_file()


def test_a_run_killed_before_its_first_checkpoint_is_trained_again_and_a_busy_folder_is_named(tmp_path, capsys):
    """SIGKILL (a scheduler's, the OOM killer) before the first checkpoint left config.yaml and the lock: train
    refused the folder ("holds files"), resume too ("nothing to resume"), each pointing at the other; and a
    second train into a folder another run was starting in was told to empty it."""
    import fcntl

    from aekit.apps.cli import main

    args = ["train", "data.name=digits", "model.name=dense", "model.hidden=[8]", "model.code_size=2", "train.epochs=1",
            f"output.dir={tmp_path}", "output.name=r", "--quiet"]
    assert main(args) == 0
    run = tmp_path / "r"
    for path in run.iterdir():  # what a kill before the first checkpoint leaves
        if path.name not in ("config.yaml", ".aekit.lock"):
            path.unlink()
    capsys.readouterr()
    assert main(args) == 0
    assert "holds the start of a run stopped before its first checkpoint (config.yaml); it is trained again there" in \
        capsys.readouterr().err
    assert (run / "checkpoint.safetensors").is_file()
    for path in run.iterdir():
        if path.name not in ("config.yaml", ".aekit.lock"):
            path.unlink()
    assert main(["report", str(run), "--quiet"]) == 0  # its report, read before the retry: aekit's, not the user's
    assert main(args) == 0 and "trained again there" in capsys.readouterr().err
    for path in run.iterdir():
        if path.name not in ("config.yaml", ".aekit.lock"):
            path.unlink()
    with open(run / ".aekit.lock", "a") as held:  # another process starting a run in it
        fcntl.flock(held, fcntl.LOCK_EX)
        holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], pass_fds=(held.fileno(),))
    try:
        assert main(args) == 2
        assert "is in use by another aekit process" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()


def test_a_named_output_folder_holding_files_is_never_written_into(tmp_path, capsys):
    from aekit.apps.cli import main

    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "config.yaml").write_text("mine: true\n")
    assert main(["train", "data.name=digits", "model.name=dense", "model.hidden=[8]", "model.code_size=2",
                 "train.epochs=1", f"output.dir={tmp_path}", "output.name=precious"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aekit: error: output.name: ") and "holds files (config.yaml) and no run to resume" in err
    assert (tmp_path / "precious" / "config.yaml").read_text() == "mine: true\n"
    assert sorted(p.name for p in (tmp_path / "precious").iterdir()) == ["config.yaml"]
    (tmp_path / "mine").mkdir()  # made by the user, empty but for a Finder file: a refused run leaves it so
    (tmp_path / "mine" / ".DS_Store").write_bytes(b"")
    args = ["train", "data.name=digits", "model.name=dense", "model.hidden=[8]", "model.code_size=2", "train.epochs=1",
            f"output.dir={tmp_path}", "output.name=mine", "--quiet"]
    assert main([*args, "train.monitor=val_los"]) == 2  # refused by fit, in the folder it was given
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == [".DS_Store"]
    assert main(args) == 0 and (tmp_path / "mine" / "checkpoint.safetensors").is_file()


def test_a_limit_above_the_number_of_samples_is_said_not_silent(tmp_path, capsys):
    from aekit.apps.cli import main

    assert main(["train", "data.name=digits", "data.limit=100000", "data.test_limit=5000", "model.name=dense",
                 "model.hidden=[8]", "model.code_size=2", "train.epochs=1", f"output.dir={tmp_path}", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "aekit: note: data.limit 100,000: digits has 1,437 training samples; all are used" in err
    assert "aekit: note: data.test_limit 5,000: digits has 360 test samples; all are used" in err  # (a data trial)


def test_fit_and_load_model_give_a_model_ready_to_use(tmp_path):
    """Issue 13.7: eval mode after fit and load, and arrays of codes for any amount of data."""
    model = dense(batch_norm=True)
    aekit.fit(model, X, epochs=1, progress=False, batch_size=16, run_dir=tmp_path / "run")
    assert not model.training
    codes = model.encode_array(X)
    assert isinstance(codes, np.ndarray) and codes.shape == (64, 4)
    assert np.allclose(model.encode_array(X[:1]), codes[:1], atol=1e-6)  # one sample: no batch statistics
    assert np.allclose(model.encode_array(X[0].numpy().ravel()), codes[:1], atol=1e-6)  # one flat sample alone
    with pytest.raises(DataError, match=r"a 1-d array of 63 values, but model 'dense' takes samples of shape "
                                        r"\(1, 8, 8\) \(64 values\); give one sample, or a batch"):
        model.encode_array(X[0].numpy().ravel()[:63])
    assert np.allclose(model.encode_array(X.numpy(), batch_size=5), codes, atol=1e-6)  # numpy, small batches
    assert model.reconstruct_array(load_dataset("digits", "test")).shape == (360, 1, 8, 8)
    images = X[:, 0].numpy()  # (64, 8, 8), taken by a (1, 8, 8) model: given back so (a bug hunt: (64, 1, 8, 8)
    out = model.reconstruct_array(images)  # made the docs' `reconstruct_array(x) - x` a (64, 64, 8, 8) array, unsaid)
    assert out.shape == (64, 8, 8) and np.array_equal(out, model.reconstruct_array(X)[:, 0])
    assert model.reconstruct_array(images.reshape(64, -1)).shape == (64, 64)  # flat rows, flat
    assert model.reconstruct_array(images[0]).shape == (1, 8, 8)  # one image: (1, ...), as encode_array's code
    assert model.reconstruct_array(X[0]).shape == (1, 1, 8, 8)  # (a review: one sample lost its batch axis)
    flat = aekit.create_model("dense", input_shape=(64,), hidden=[4], code_size=2)  # a batch stays a batch; arrays
    assert flat.encode_array(images).shape == (64, 2)  # of as many values shaped unlike a sample are refused, not
    for odd in (np.zeros((2, 32), np.float32), np.zeros((64, 1), np.float32)):  # read as one (a review: (2, 32)
        with pytest.raises(DataError, match=r"but the model expects \(64,\)"):  # taken as one scrambled sample)
            flat.reconstruct_array(odd)
    loaded = aekit.load_model(tmp_path / "run")
    assert not loaded.training
    assert np.allclose(loaded.encode_array(X), codes, atol=1e-6)
    assert not loaded.encode(X[:1]).requires_grad or torch.is_grad_enabled()  # plain encode still works


def test_readme_python_snippet_runs_and_prints_codes(tmp_path, monkeypatch, capsys):
    """Issue 13.7: the README's snippet as written, with fewer epochs and a smaller net."""
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    snippet = re.search(r"## Python\n\n```python\n(.*?)```", readme, re.S).group(1)
    assert "print(" in snippet
    quick = snippet.replace("epochs=10", "epochs=1").replace("epochs=20", "epochs=2").replace(
        "hidden=[1000, 500, 250]", "hidden=[32]")
    monkeypatch.chdir(tmp_path)
    exec(compile(quick, "README.md", "exec"), {})
    assert re.search(r"\(2000, 30\)", capsys.readouterr().out)


def test_every_folder_aekit_writes_a_model_into_works_with_the_commands(tmp_path, capsys):
    """Issue 13.8: aekit.fit(run_dir=...) makes a run folder; export finds an experiment's model."""
    train_set, test_set = load_dataset("digits", "train"), load_dataset("digits", "test")
    aekit.fit(dense(), train_set, test_set, epochs=1, progress=False, run_dir=tmp_path / "mine")
    status, out, err = cli(["evaluate", tmp_path / "mine"], capsys)
    assert status == 0 and "test set, 360 samples" in out, err
    status, out, err = cli(["resume", tmp_path / "mine", "--epochs", "2", "--quiet"], capsys)
    assert status == 0 and len(aekit.load_model(tmp_path / "mine").config.input_shape) == 3, err
    assert cli(["report", tmp_path / "mine"], capsys)[0] == 0 and (tmp_path / "mine" / "report.html").is_file()
    aekit.fit(dense(), X, epochs=1, progress=False, run_dir=tmp_path / "arrays")  # no data to find: one line
    status, _, err = cli(["evaluate", tmp_path / "arrays"], capsys)
    assert status == 2 and one_line_error(err) and "data.name: empty" in err and "aekit.fit on arrays" in err
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "experiment.yaml").write_text("experiment: x\n")
    aekit.save_model(dense(), exp / "model-plain.safetensors")
    status, out, err = cli(["export", exp, "--format", "torchscript"], capsys)
    assert status == 0 and (exp / "encoder.pt").is_file(), err
    status, _, err = cli(["evaluate", exp], capsys)
    assert status == 2 and one_line_error(err) and "is an experiment folder" in err


def test_missing_dependency_is_one_line(capsys, monkeypatch):
    """A new user without torch (pip install --no-deps) gets one line naming the package."""
    import aekit.apps.cli

    def needs_torch(args):
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setattr(aekit.apps.cli, "_cmd_datasets", needs_torch)
    status, _, err = cli(["datasets"], capsys)
    assert status == 2 and one_line_error(err) and "the package 'torch' is not installed" in err

    def needs_helper(args):  # a module of the user's own (a review: "pip install aekit installs ...")
        raise ModuleNotFoundError("No module named 'helper'", name="helper")

    monkeypatch.setattr(aekit.apps.cli, "_cmd_datasets", needs_helper)
    status, _, err = cli(["datasets"], capsys)
    assert status == 2 and err == ("aekit: error: No module named 'helper' (a module of your own: beside the file that "
                                   "imports it, or on PYTHONPATH)")


def test_export_of_a_model_file_writes_beside_it(tmp_path, capsys):
    """Issue 13.9: `aekit export runs/x/model.safetensors` ended in FileExistsError."""
    path = aekit.save_model(dense(), tmp_path / "model.safetensors")
    status, out, err = cli(["export", path, "--format", "torchscript"], capsys)
    assert status == 0 and (tmp_path / "encoder.pt").is_file(), err


def test_no_user_path_prints_a_traceback(tmp_path, capsys, monkeypatch):
    """Issue 13.9: an unexpected error is one line (exit 1); --debug shows the traceback."""
    import aekit.apps.cli

    def broken(args):
        raise TypeError("something aekit did not foresee")

    monkeypatch.setattr(aekit.apps.cli, "_cmd_datasets", broken)
    status, _, err = cli(["datasets"], capsys)
    assert status == 1 and one_line_error(err) and "TypeError: something aekit did not foresee" in err
    with pytest.raises(TypeError):
        aekit.apps.cli.main(["datasets", "--debug"])


def test_a_closed_pipe_is_not_a_traceback():
    """Issue 13.9: `aekit experiment show NAME | head` ended in BrokenPipeError."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "aekit", "experiment", "show", "mnist-2d"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before aekit writes
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err, err


@pytest.mark.parametrize("order", [
    ["{cfg}", "--quiet", "train.epochs=1"],
    ["--quiet", "train.epochs=1", "{cfg}"],
    ["train.epochs=1", "{cfg}", "--quiet", "output.name=last"],
])
def test_flags_and_overrides_in_any_order(order, tmp_path, capsys):
    """Issue 13.10."""
    cfg = run_config(tmp_path)
    status, out, err = cli(["train", *(a.format(cfg=cfg) for a in order)], capsys)
    assert status == 0 and "run folder:" in out, err


def test_train_without_a_config_file(tmp_path, capsys):
    """Issue 13.10: no 'the overrides are required'; the overrides alone can be the config, and
    without a model section the model is chosen from the data (issue 12)."""
    status, out, err = cli(["train", "--quiet", "data.name=digits", "train.epochs=1", f"output.dir={tmp_path}",
                            "output.name=auto"], capsys)
    assert status == 0 and "run folder:" in out and "required: config" not in err, err
    assert "linear_path: true" in (tmp_path / "auto" / "config.yaml").read_text()
    status, out, err = cli(["train", "model.name=dense", "model.code_size=2", "data.name=digits",
                            "train.epochs=1", f"output.dir={tmp_path}", "--quiet"], capsys)
    assert status == 0 and "run folder:" in out, err


def test_experiment_name_after_a_flag(tmp_path, capsys):
    """Issue 13.10 and 13.14: `experiment run --tiny --quiet NAME` works; --quiet leaves the headline."""
    status, out, err = cli(["experiment", "run", "--tiny", "--quiet", "tied-mnist", "train.epochs=1",
                            "--out", tmp_path], capsys)
    assert status == 0, err
    assert "training" not in out and "run folder:" in out and "1 epochs" not in out


@pytest.mark.parametrize(("text", "where"), [
    ("model:\n  name: dense\n  hidden: [8, 4\ndata: {name: digits}\n", "line 4, column 5"),
    ("model:\n  name: dense\n code_size: 3\n", "line 3, column 2"),
    ('{"model": {"name": "dense",}}', "line 1, column 2[78]"),  # (Python 3.13's json points at the comma itself)
])
def test_config_syntax_errors_name_line_and_column(tmp_path, text, where):
    """Issue 13.11."""
    from aekit.config import load_file

    path = tmp_path / ("c.json" if text.startswith("{") else "c.yaml")
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"^config file .*{path.name} is not valid (YAML|JSON): {where}: "):
        load_file(path)


def test_ctrl_c_names_the_run_folder(tmp_path, capsys, monkeypatch):
    """Issue 13.12: 'aekit resume RUN_DIR continues' named no folder, and was said with no checkpoint."""
    import aekit.apps.run

    real_fit = aekit.apps.run.fit

    def interrupted(*args, after_epoch: bool, **kwargs):
        if after_epoch:
            real_fit(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(aekit.apps.run, "fit", lambda *a, **k: interrupted(*a, after_epoch=False, **k))
    status, _, err = cli(["train", run_config(tmp_path), "output.name=early"], capsys)
    assert status == 130 and err == f"aekit: interrupted before the first checkpoint of {tmp_path / 'runs' / 'early'}: nothing to resume, train again"
    monkeypatch.setattr(aekit.apps.run, "fit", lambda *a, **k: interrupted(*a, after_epoch=True, **k))
    status, _, err = cli(["train", run_config(tmp_path), "output.name=late"], capsys)
    late = tmp_path / "runs" / "late"  # its training ran to its end: evaluating it is what is left
    assert status == 130 and f"its training finished ({late / 'model.safetensors'}): `aekit evaluate {late}` evaluates it" in err


def test_a_fit_stopped_before_its_first_checkpoint_leaves_no_folder_it_made(tmp_path, fit_notes):
    """A notebook trial: an interrupt in fit's first epoch left runs/x with config.yaml and a lock, and said
    nothing, where the CLI removes such a folder; later, load_model('runs/x') read 'model.safetensors does not exist'."""
    from aekit.training.callbacks import Callback

    class Stop(Callback):
        def on_batch_end(self, trainer, batch, logs):
            raise KeyboardInterrupt

    model = aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=2)
    x = torch.rand(64, 6)
    with pytest.raises(KeyboardInterrupt) as caught:
        aekit.fit(model, x, epochs=2, batch_size=8, run_dir=tmp_path / "runs" / "x", callbacks=[Stop()], progress=False)
    assert not (tmp_path / "runs").exists()  # and the folder above it, made for it
    assert fit_notes(caught.value) == [f"stopped before its first checkpoint: nothing was kept, and {tmp_path / 'runs' / 'x'}, "
                                      "which this fit made, is removed"]
    with pytest.raises(KeyboardInterrupt) as caught:  # its own empty log too (a tuner's trial: an empty log.csv)
        aekit.fit(model, x, epochs=2, batch_size=8, run_dir=tmp_path / "logged", callbacks=[Stop()], log=["csv"],
                  progress=False)
    assert not (tmp_path / "logged").exists()
    assert fit_notes(caught.value) == [f"stopped before its first checkpoint: nothing was kept, and {tmp_path / 'logged'}, "
                                       "which this fit made, is removed"]
    (tmp_path / "mine").mkdir()  # a folder the user made is theirs: its start is left, which a retry replaces
    with pytest.raises(KeyboardInterrupt) as caught:
        aekit.fit(model, x, epochs=2, batch_size=8, run_dir=tmp_path / "mine", callbacks=[Stop()], progress=False)
    assert (tmp_path / "mine" / "config.yaml").is_file() and not fit_notes(caught.value)
    with pytest.raises(aekit.CheckpointError, match=r"holds no model yet: its run has not reached its first checkpoint, "
                                                    r"or stopped before it \(train it again\)$"):
        aekit.load_model(tmp_path / "mine")  # (was "checkpoint .../model.safetensors does not exist")
    aekit.fit(model, x, epochs=1, batch_size=8, run_dir=tmp_path / "mine", progress=False)
    assert (tmp_path / "mine" / "model.safetensors").is_file()

    class Pruned(Callback):  # a tuner's trial pruned at once, which wrote into the folder: kept (a review)
        def on_batch_end(self, trainer, batch, logs):
            (trainer.run_dir / "trial.json").write_text("{}")
            raise RuntimeError("pruned")

    with pytest.raises(RuntimeError, match="pruned"):
        aekit.fit(model, x, epochs=2, batch_size=8, run_dir=tmp_path / "trial", callbacks=[Pruned()], progress=False)
    assert (tmp_path / "trial" / "trial.json").is_file()


def test_ctrl_c_in_an_experiment_that_does_not_resume_names_its_folder(tmp_path, capsys, monkeypatch):
    import dataclasses

    from aekit.apps import experiments

    def stopped(cfg, run_dir):
        (run_dir / "model-first.safetensors").write_bytes(b"half of the work")
        raise KeyboardInterrupt

    exp = experiments.experiment("mnist-2d")
    assert not exp.resumable
    monkeypatch.setitem(experiments._EXPERIMENTS, "mnist-2d", dataclasses.replace(exp, fn=stopped))
    status, _, err = cli(["experiment", "run", "mnist-2d", "--tiny", "--out", str(tmp_path)], capsys)
    (folder,) = tmp_path.iterdir()
    assert status == 130 and err == (f"aekit: interrupted; {folder} holds what the experiment finished, without "
                                     "results.json: it does not resume, so run it again (and delete that folder)")
    def stopped_at_once(cfg, run_dir):  # nothing written yet: the folder is removed, and that is said (a CLI trial)
        raise KeyboardInterrupt

    monkeypatch.setitem(experiments._EXPERIMENTS, "mnist-2d", dataclasses.replace(exp, fn=stopped_at_once))
    status, _, err = cli(["experiment", "run", "mnist-2d", "--tiny", "--out", str(tmp_path / "none")], capsys)
    assert status == 130 and err == "aekit: interrupted before the experiment kept anything (its folder is removed): run it again"
    assert not (tmp_path / "none").exists()  # (and the --out folder made for it)
    written = experiments.atomic_write_text

    def stopped_as_its_settings_are_written(path, text):  # (a kill trial: an empty folder was left, and a bare line)
        written(path, text)
        raise KeyboardInterrupt

    monkeypatch.setattr(experiments, "atomic_write_text", stopped_as_its_settings_are_written)
    resumable = experiments.experiment("pretrain-mnist")
    assert resumable.resumable
    status, _, err = cli(["experiment", "run", "pretrain-mnist", "--tiny", "--out", str(tmp_path / "early")], capsys)
    assert status == 130 and err == "aekit: interrupted before the experiment kept anything (its folder is removed): run it again"
    assert not (tmp_path / "early").exists()
    monkeypatch.setattr(experiments, "atomic_write_text", written)

    def failed_at_once(cfg, run_dir):  # an error, not an interrupt: said alone (a review: "... run it again" glued on)
        raise aekit.DataError("the loss became nan")

    monkeypatch.setitem(experiments._EXPERIMENTS, "mnist-2d", dataclasses.replace(exp, fn=failed_at_once))
    status, _, err = cli(["experiment", "run", "mnist-2d", "--tiny", "--out", str(tmp_path / "failed")], capsys)
    assert status == 2 and err == "aekit: error: the loss became nan"
    resumable = experiments.experiment("pretrain-mnist")
    monkeypatch.setitem(experiments._EXPERIMENTS, "pretrain-mnist", dataclasses.replace(resumable, fn=stopped))
    status, _, err = cli(["experiment", "run", "pretrain-mnist", "--tiny", "--out", str(tmp_path / "r")], capsys)
    assert status == 130 and "does not resume" not in err


def test_diverging_loss_before_any_checkpoint_says_so(tmp_path):
    """Issue 13.12: 'the last good checkpoint ... was kept' when there was none."""
    from aekit.training.callbacks import Callback

    class Poison(Callback):
        def on_batch_end(self, trainer, batch, logs):
            with torch.no_grad():
                next(trainer.model.parameters()).fill_(float("nan"))

    with pytest.raises(aekit.NonFiniteLossError) as info:
        aekit.fit(dense(), X, epochs=1, batch_size=16, progress=False, run_dir=tmp_path / "r", callbacks=[Poison()])
    assert "before its first checkpoint" in str(info.value) and "was kept" not in str(info.value)


@pytest.mark.parametrize("val", [True, False])
def test_weights_diverged_by_an_epochs_last_step_never_reach_a_checkpoint(tmp_path, val):
    """A bug hunt: the loss checked before each step left the last step's weights unchecked; a run diverged there
    kept them as "the last good checkpoint", and every resume at a lower learning rate failed again."""
    from aekit.training import checkpoint as ckpt
    from aekit.training.callbacks import Callback

    class Poison(Callback):  # NaN weights after the last step of epoch 2
        def on_batch_end(self, trainer, batch, logs):
            if trainer.epoch == 1 and batch == 2:
                with torch.no_grad():
                    next(trainer.model.parameters()).fill_(float("nan"))

    model, held = dense(), (X[:16], None)[1 - val]
    aekit.fit(model, X[16:80], held, epochs=1, batch_size=16, progress=False, run_dir=tmp_path)
    good = (tmp_path / ckpt.CHECKPOINT_FILE).read_bytes()
    said = r"the validation loss became nan after epoch 2;" if val else r"the loss became nan after step 6, as a checkpoint"
    with pytest.raises(aekit.NonFiniteLossError, match=said + ".* the last good checkpoint in .* was kept; try a lower"):
        aekit.fit(model, X[16:80], held, epochs=3, batch_size=16, progress=False, run_dir=tmp_path, resume=True,
                  callbacks=[Poison()])
    assert (tmp_path / ckpt.CHECKPOINT_FILE).read_bytes() == good  # epoch 1's, from which a resume can go on
    aekit.fit(model, X[16:80], held, epochs=2, batch_size=16, progress=False, run_dir=tmp_path, resume=True)


def test_version_and_listings_do_not_import_torch():
    """Issue 13.13: --version took 2.4 s and 650 MB."""
    import subprocess
    import sys
    import time

    code = ("import sys\nfrom aekit.apps.cli import main\n"
            "for argv in (['models'], ['datasets'], ['experiment', 'list']):\n    assert main(argv) == 0\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    start = time.perf_counter()
    version = subprocess.run([sys.executable, "-m", "aekit", "--version"], capture_output=True, text=True, timeout=60)
    assert version.stdout.startswith("aekit ") and time.perf_counter() - start < 0.5 + 0.5  # with slack for a busy machine


def test_catalog_matches_the_registries():
    """Issue 13.13: the torch-free tables the CLI lists stay in sync with the registries."""
    from aekit import catalog
    from aekit.apps.experiments import experiment, list_experiments
    from aekit.data.datasets import dataset_entry, list_datasets
    from aekit.registry import list_models, model_entry

    models = {n: model_entry(n).summary for n in list_models()}
    missing = {n: models[n] for n in models if catalog.MODELS.get(n) != models[n]}  # (a contributor trial: a bare diff)
    assert catalog.MODELS == models, f"src/aekit/catalog.py's MODELS needs these lines, as the models say them: {missing}"
    assert catalog.OTHER_MODELS == {k: {n: model_entry(n).summary for n in list_models(k)}
                                    for k in ("semi-supervised", "classifier")}
    assert catalog.DATASETS == {n: dataset_entry(n).summary for n in list_datasets()}
    assert catalog.EXPERIMENTS == {n: experiment(n).summary for n in list_experiments()}


def test_models_name_prints_config_values(capsys):
    """Issue 13.14: no Python reprs such as (1000, 500, 250) or None."""
    status, out, _ = cli(["models", "dense"], capsys)
    assert status == 0 and "hidden: [1000, 500, 250]" in out and "decoder_hidden: null" in out
    assert "None" not in out and "(1000" not in out


def test_conv_configs_name_their_runs_apart():
    """Issue 13.14: both conv configs named their runs conv-mnist-<time>."""
    from aekit.apps import run

    root = Path(EXAMPLES)
    names = {run.new_run_dir(run.load_run_config(root / f), run.config_label(root / f)).name.rsplit("-", 2)[0]
             for f in ("conv-upsample.yaml", "conv-transpose.yaml")}
    assert names == {"conv-upsample-mnist", "conv-transpose-mnist"}


def test_overcomplete_model_says_why_there_is_no_pca_line(tmp_path, capsys):
    """Issue 13.14: the PCA line vanished silently for an overcomplete model."""
    status, out, err = cli(["train", run_config(tmp_path), "model.code_size=80"], capsys)
    assert status == 0, err
    assert "no PCA comparison: code size 80 > 64 input features (overcomplete): PCA would be exact" in out
    from aekit.apps import run

    def start(*keys):
        cfg = run.load_run_config(None, ["data.name=digits", *keys])
        splits = run.load_data(cfg, None)
        return run.start_line(cfg, run.build_model(cfg, splits[0].sample_shape), (*splits, None), tmp_path)

    line = start("model.name=dense", "model.hidden=[8]", "model.code_size=80")
    assert "(overcomplete: a code_size below the inputs' count compresses)" in line  # given: not told to give one
    # a model x data trial: a code as large as the input was "overcomplete", and a vq-vae (whose code is indices)
    # was told to set a model.code_size it refuses
    assert "a code of 64 values for 64 inputs (as many: nothing is compressed: " in start("model.name=dense",
                                                                                          "model.code_size=64")
    assert "a code of" not in start("model.name=vq-vae", "model.hidden=[8]")


def test_a_code_larger_than_the_training_set_skips_pca_and_the_run_is_evaluated(tmp_path, capsys):
    """A conv model's feature map (code_size null: 2048 values for 3x32x32) on 60 images: PCA cannot have that
    many components; the run failed after training and could never be evaluated."""
    path = tmp_path / "rgb.npy"
    np.save(path, np.random.default_rng(0).integers(0, 256, (60, 32, 32, 3), dtype=np.uint8))
    status, out, err = cli(["train", f"data.name={path}", "model.name=conv", "train.epochs=1", "train.batch_size=32",
                            f"output.dir={tmp_path}", "output.name=r"], capsys)
    assert status == 0, err
    assert "no PCA comparison: code size 2048 > 54 training samples: PCA has at most as many components" in out
    assert (tmp_path / "r" / "metrics.json").is_file()


def test_failed_experiment_leaves_no_folder(tmp_path, capsys):
    """Issue 13.14 and 13.1: a bad test part stops an experiment, and no folder holding only experiment.yaml is left."""
    path = tmp_path / "data.npz"
    np.savez(path, x_train=IMAGES, y_train=Y[:40].numpy(), x_test=np.full((10, 8, 8), np.nan))
    status, _, err = cli(["experiment", "run", "tied-mnist", f"data.name={path}", "--tiny", "--out", tmp_path / "runs"], capsys)
    assert status == 2 and one_line_error(err) and "NaN" in err, err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_channel_last_images_are_refused_not_scrambled_and_size_one_axes_are_fine():
    x = torch.rand(8, 3, 6, 5)
    model = aekit.create_model("dense", input_shape=(3, 6, 5), hidden=[8], code_size=2)
    channel_last = x.permute(0, 2, 3, 1).contiguous()  # as many values, in another order
    for call in (lambda: aekit.fit(model, channel_last, epochs=1, progress=False), lambda: model.encode_array(channel_last),
                 lambda: model.reconstruct_array(channel_last.numpy())):
        with pytest.raises(DataError, match=r"samples have shape \(6, 5, 3\) but the model expects \(3, 6, 5\) or flat "
                                            r"\(90,\); channel-last images: move the channels first \(x.permute"):
            call()
    np.testing.assert_allclose(model.encode_array(x.reshape(8, -1)), model.encode_array(x), rtol=0, atol=0)  # flat is fine
    flat_model = aekit.create_model("dense", input_shape=(90,), hidden=[8], code_size=2)
    assert flat_model.encode_array(x).shape == (8, 2)  # a flat model takes samples of any shape, flattened
    grey = aekit.create_model("dense", input_shape=(1, 6, 5), hidden=[8], code_size=2)
    assert grey.encode_array(torch.rand(4, 6, 5)).shape == grey.encode_array(torch.rand(4, 6, 5, 1)).shape == (4, 2)


def test_exports_of_an_experiments_model_files_do_not_overwrite_each_other(tmp_path, capsys):
    for name in ("model-upsample", "model-unpool"):
        path = aekit.save_model(dense(), tmp_path / f"{name}.safetensors")
        status, out, err = cli(["export", path, "--format", "torchscript"], capsys)
        assert status == 0 and (tmp_path / f"{name}-encoder.pt").is_file(), err
    status, _, err = cli(["export", path, "--format", "torchscript", "--output", tmp_path / "x.onnx"], capsys)
    assert status == 2 and "x.onnx names no torchscript file; torchscript files end in .pt" in err
    for output, says in ((f"{tmp_path / 'newdir'}/", "newdir/ names a folder; give a file name, such as"),  # a paths trial:
                         (tmp_path / "enc", "enc names no torchscript file")):  # a file named newdir, and enc, written
        status, _, err = cli(["export", path, "--format", "torchscript", "--output", output], capsys)
        assert status == 2 and says in err and not (tmp_path / "newdir").exists() and not (tmp_path / "enc").exists()


def test_a_memory_mapped_array_with_nan_is_refused_when_encoded(tmp_path):
    values = FLAT.copy()
    values[-1, 5] = np.nan
    np.save(tmp_path / "nan.npy", values)
    with pytest.raises(DataError, match=r"^data: the data contains NaN .*the first at sample 63, position \(0, 0, 5\)"):
        dense().encode_array(np.load(tmp_path / "nan.npy", mmap_mode="r"), batch_size=16)


def test_a_dataset_of_numpy_arrays_holds_tensors(tmp_path):
    data = Dataset(FLAT, Y.numpy())
    assert isinstance(data.x, torch.Tensor) and len(data.take(10)) == 10 and sum(map(len, data.split(0.25))) == 64
    assert torch.equal(Dataset(FLAT[:, ::2]).x, torch.from_numpy(FLAT[:, ::2].copy()))  # a strided view: copied
    np.save(tmp_path / "x.npy", FLAT)
    on_disk = Dataset(np.load(tmp_path / "x.npy", mmap_mode="r"), Y.tolist())  # stays on disk; a list of labels
    assert not isinstance(on_disk.x, torch.Tensor) and len(on_disk.take(10)) == 10 and on_disk.y.dtype == torch.int64
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a read-only array is copied, not warned about
        Dataset(np.frombuffer(FLAT.tobytes(), dtype=np.float32).reshape(64, 64))


def test_a_validation_fraction_too_large_to_keep_is_said():
    with pytest.warns(UserWarning, match=r"^validation_fraction=0.9 of 64 samples would leave 6 to train on, fewer than"):
        history = AutoencoderTransformer(epochs=1, validation_fraction=0.9, random_state=0).fit(FLAT).history_
    assert "val_loss" not in history


def test_restore_best_by_a_training_loss_keeps_the_last_weights_and_says_so():
    """An epoch's running training loss is no measure of its last weights: restoring by it kept the worst ones."""
    with pytest.warns(UserWarning, match=r"^restore_best: .* and train.monitor is 'train_loss': the last epoch's weights"):
        train(X[:48], X[48:], epochs=2, restore_best=True, monitor="train_loss")


def test_a_note_names_the_line_of_the_users_code_that_led_to_it():
    """A trial: a note raised deep in aekit named aekit's line (site-packages/aekit/...), and through a
    scikit-learn Pipeline not the user's either; it names the first line outside aekit and the libraries."""
    from sklearn.pipeline import make_pipeline

    from aekit.apps.sklearn import AutoencoderTransformer

    x = np.random.default_rng(0).random((40, 5)) + 1.7e9  # float32 rounds away what varies: a note
    with pytest.warns(UserWarning, match="vary little for their size") as caught:
        make_pipeline(AutoencoderTransformer(epochs=1)).fit(x)
    assert [w.filename for w in caught if "vary little" in str(w.message)] == [__file__]
    with pytest.warns(UserWarning, match="vary little for their size") as caught:
        aekit.fit(aekit.create_model("dense", input_shape=(5,), hidden=[4], code_size=2, recon_loss="mse"), x,
                  config=aekit.TrainConfig(epochs=1, progress=False))
    assert {w.filename for w in caught if "vary little" in str(w.message)} == {__file__}
