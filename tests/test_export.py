"""Exported encoders/decoders (ONNX via onnxruntime, TorchScript) match PyTorch on real digits,
for any batch size; bad arguments are refused with the allowed values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import aekit
from aekit.apps.export import SUFFIXES, export_model, signature
from aekit.apps.sklearn import AutoencoderTransformer
from aekit.data import load_dataset

pytestmark = [  # torch's own notices, not aekit's: jit is deprecated upstream, and an exporter internal
    pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated"),  # (a DeprecationWarning in torch 2.13, a FutureWarning from 2.14)
    pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning"),
]


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "train").x  # (1437, 1, 8, 8) real digits in [0, 1]


@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    """A small dense model trained for 2 epochs (so weights are not just their init), and its run folder."""
    run_dir = tmp_path_factory.mktemp("run")
    model = aekit.create_model("dense", input_shape=(1, 8, 8), hidden=(32,), code_size=6)
    aekit.fit(model, digits, epochs=2, batch_size=64, progress=False, run_dir=run_dir)
    return model.eval(), run_dir


def reference(model, part, t, y=None):
    """The part's output in PyTorch; `y`: a conditional model's labels (its exports take them)."""
    labels = {} if y is None else {"y": y}
    with torch.no_grad():
        if part == "encoder":
            return model.encode(t, **labels)
        if part == "decoder":
            return model.decode(t, **labels)
        return model(t, **labels).x_hat


def labels_of(model, n):
    """(), or a conditional model's labels for n samples: its exports' second input (a cvae's export dropped it)."""
    return (torch.arange(n) % model.config.n_classes,) if model.conditional else ()


@pytest.mark.parametrize("source", ["model", "run_dir"])
def test_onnx_matches_pytorch_for_any_batch(trained, digits, tmp_path, source):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    model, run_dir = trained
    # the encoder from the model object; the decoder from the run folder (load_model path)
    part = "encoder" if source == "model" else "decoder"
    path = export_model(model if source == "model" else run_dir, tmp_path / f"{part}.onnx", part=part)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, out.name) == (("x", "z") if part == "encoder" else ("z", "x_hat"))
    assert inp.shape[0] == "batch"  # a named, dynamic batch axis
    for n in (1, 7, 300):
        t = digits[:n] if part == "encoder" else model.encode(digits[:n]).detach()
        got = session.run(None, {inp.name: t.numpy()})[0]
        np.testing.assert_allclose(got, reference(model, part, t).numpy(), atol=1e-5, rtol=0)
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("part", ["encoder", "decoder", "full"])
def test_torchscript_matches_pytorch_for_any_batch(trained, digits, tmp_path, part):
    model, _ = trained
    path = export_model(model, tmp_path / f"{part}.pt", format="torchscript", part=part)
    loaded = torch.jit.load(str(path))
    for n in (1, 5, 300):
        t = model.encode(digits[:n]).detach() if part == "decoder" else digits[:n]
        with torch.no_grad():
            torch.testing.assert_close(loaded(t), reference(model, part, t), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", aekit.list_models())
def test_every_registered_model_exports_to_torchscript(name, tmp_path, small_model):
    """Each model's encoder and full autoencoder trace with a dynamic batch."""
    shape = (1, 28, 28)
    model = small_model(name, shape)
    model.eval()
    x = torch.rand(5, *shape)
    for part in ("encoder", "full"):
        loaded = torch.jit.load(str(export_model(model, tmp_path / f"{part}.pt", format="torchscript", part=part)))
        with torch.no_grad():
            for n in (1, 5):
                y = labels_of(model, n)
                torch.testing.assert_close(loaded(x[:n], *y), reference(model, part, x[:n], *y), atol=1e-5, rtol=0)


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 3, 64)])
def test_an_unpooling_conv_model_exports_both_ways(shape, tmp_path):
    """TorchScript could not trace the unpooling decoder (torch's size check in max_unpool); a signal's 1-D
    convolutions export as an image's 2-D ones."""
    model = aekit.create_model("conv", input_shape=shape, channels=(4, 8), decoder="unpool",
                               dims=1 if shape[1] < 8 else 2).eval()
    x = torch.rand(5, *shape)
    loaded = torch.jit.load(str(export_model(model, tmp_path / "full.pt", format="torchscript", part="full")))
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), reference(model, "full", x), atol=1e-5, rtol=0)
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    session = ort.InferenceSession(str(export_model(model, tmp_path / "full.onnx", part="full")))
    (out,) = session.run(None, {session.get_inputs()[0].name: x[:3].numpy()})
    torch.testing.assert_close(torch.from_numpy(out), reference(model, "full", x[:3]), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", aekit.list_models())
def test_every_registered_model_exports_to_onnx(name, tmp_path, small_model):
    """Each model's encoder and full autoencoder run in onnxruntime as in PyTorch, for any batch size."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    model = small_model(name, (1, 28, 28)).eval()
    x = torch.rand(5, 1, 28, 28)
    for part in ("encoder", "full"):
        with warnings.catch_warnings(record=True) as said:  # (a cvae's two inputs: torch's "axis name" line)
            warnings.simplefilter("always")
            path = export_model(model, tmp_path / f"{part}.onnx", part=part)
        assert not [w for w in said if "axis name" in str(w.message)]
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        for n in (1, 5):
            y = labels_of(model, n)
            feed = dict(zip([i.name for i in session.get_inputs()], [x[:n].numpy(), *(t.numpy() for t in y)], strict=True))
            got = session.run(None, feed)[0]
            np.testing.assert_allclose(got, reference(model, part, x[:n], *y).numpy(), atol=1e-5, rtol=0)


@pytest.mark.parametrize("format", ["onnx", "torchscript"])
def test_a_cvae_decoder_exports_and_generates_the_class_asked_for(format, tmp_path, small_model, recwarn):
    """A trial: the cvae's decoder failed in torch's ONNX exporter (the check of its labels' values, a guard on
    data) with a hundred lines of torch's dump, and its TorchScript export printed torch's as_tensor warning."""
    ort = pytest.importorskip("onnxruntime") if format == "onnx" else None
    if format == "onnx":
        pytest.importorskip("onnxscript")
    model = small_model("cvae", (1, 28, 28)).eval()
    path = export_model(model, tmp_path / f"decoder{SUFFIXES[format]}", part="decoder", format=format)
    assert not [w for w in recwarn if "as_tensor" in str(w.message)]
    z, y = torch.randn(4, model.config.code_size), torch.tensor([0, 1, 2, 1])
    if format == "onnx":
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = torch.from_numpy(session.run(None, dict(zip([i.name for i in session.get_inputs()], [z.numpy(), y.numpy()])))[0])
    else:
        got = torch.jit.load(str(path))(z, y)
    torch.testing.assert_close(got, reference(model, "decoder", z, y), atol=1e-5, rtol=0)
    model.train()
    assert signature(model, "decoder") == f"z (batch, {model.config.code_size}), y (batch,) -> x_hat (batch, 1, 28, 28)"
    assert model.training  # the caller's model as it was (a review: it came back in eval mode, on the CPU)
    wide = aekit.create_model("dense", input_shape=(20,), hidden=(8,), code_size=2).double()  # exported as float32
    assert signature(wide) == "x (batch, 20) -> z (batch, 2)"  # (a bug hunt: torch's dtype error)
    assert next(wide.parameters()).dtype == torch.float64  # the caller's as it was


def test_export_leaves_the_model_as_it_was(trained, tmp_path):
    model, _ = trained
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    export_model(model, tmp_path / "e.pt", format="torchscript")
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    model.eval()


def test_export_a_fitted_sklearn_estimator(digits, tmp_path):
    x = digits.reshape(len(digits), -1).numpy()
    with pytest.raises(aekit.ConfigError, match=r"^export: this AutoencoderTransformer is not fitted yet; call fit"):
        export_model(AutoencoderTransformer(), tmp_path / "enc.pt", format="torchscript")
    with pytest.raises(aekit.DataError, match=r"^Complex data not supported\s*$"):  # said, not printed whole
        AutoencoderTransformer(epochs=1).fit(x[:20] + 1j)
    est = AutoencoderTransformer(model_params={"hidden": [16], "code_size": 3}, epochs=1, random_state=0).fit(x[:300])
    loaded = torch.jit.load(str(export_model(est, tmp_path / "enc.pt", format="torchscript")))
    with torch.no_grad():
        np.testing.assert_allclose(loaded(torch.from_numpy(x[:20])).numpy(), est.transform(x[:20]), atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"format": "tflite"}, r"format 'tflite' is not allowed; choose one of: onnx, torchscript"),
        ({"part": "middle"}, r"part 'middle' is not allowed; choose one of: encoder, decoder, full"),
    ],
)
def test_bad_format_or_part_names_the_allowed_values(trained, tmp_path, kwargs, match):
    with pytest.raises(aekit.ConfigError, match=match):
        export_model(trained[0], tmp_path / "x.out", **kwargs)
    assert not (tmp_path / "x.out").exists()


def test_bad_source_is_refused(tmp_path):
    with pytest.raises(aekit.ConfigError, match="export: Linear is not an autoencoder; give"):
        export_model(torch.nn.Linear(2, 2), tmp_path / "x.pt", format="torchscript")
    for format in ("torchscript", "onnx"):  # the missing folder is named first, whatever ONNX's packages
        with pytest.raises(aekit.CheckpointError, match="does not exist"):
            export_model(tmp_path / "no-such-run", tmp_path / f"x{SUFFIXES[format]}", format=format)


def test_an_onnx_failure_names_what_failed_inside_torch_export(trained, tmp_path, monkeypatch):
    def page_long(*args, **kwargs):  # torch.onnx wraps torch.export's error in a page of advice
        try:
            raise AssertionError("Expected op to be '==', got <= for batch")
        except AssertionError as inner:
            raise RuntimeError("Failed to export the model with torch.export. \x1b[96mThis is step 1/3\x1b[0m. Next "
                               "steps:\n- Modify the model code") from inner

    monkeypatch.setattr(torch.onnx, "export", page_long)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object())  # as if onnx were installed
    with pytest.raises(aekit.ConfigError, match=r"\(AssertionError: Expected op to be '==', got <= for batch\); "
                                                r"use --format torchscript$"):
        export_model(trained[0], tmp_path / "enc.onnx")
    assert not (tmp_path / "enc.onnx").exists()


def test_a_classifier_run_is_refused_with_a_pointer_to_its_autoencoder(tmp_path):
    from aekit.models.classifier import EncoderClassifier

    clf = EncoderClassifier.on(aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=2), 2)
    aekit.fit(clf, (torch.rand(8, 6), torch.tensor([0, 1] * 4)), epochs=1, run_dir=tmp_path / "run", progress=False)
    with pytest.raises(aekit.ConfigError, match=r"EncoderClassifier is not an autoencoder \(a classifier: export its .autoencoder for the encoder, or the classifier itself"):
        export_model(tmp_path / "run", tmp_path / "x.pt", format="torchscript")
    assert not (tmp_path / "x.pt").exists()


def test_failed_export_leaves_no_file(trained, tmp_path, monkeypatch):
    previous = export_model(trained[0], tmp_path / "enc.pt", format="torchscript").read_bytes()  # a real export

    def broken_trace(*args, **kwargs):
        raise RuntimeError("tracing failed")

    monkeypatch.setattr(torch.jit, "trace", broken_trace)
    with pytest.raises(aekit.ConfigError, match=r"cannot trace .*\(tracing failed\); use --format onnx"):
        export_model(trained[0], tmp_path / "enc.pt", format="torchscript")
    assert (tmp_path / "enc.pt").read_bytes() == previous
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_run_in_training_is_not_exported_and_an_unfinished_one_is_said(trained, tmp_path):
    """An export mid-training took weights the run was still changing; a killed run's, its last checkpoint's."""
    import shutil

    fcntl = pytest.importorskip("fcntl")
    from aekit.training import checkpoint as ckpt

    _, run_dir = trained
    run = shutil.copytree(run_dir, tmp_path / "run")
    with open(run / ckpt.LOCK_FILE, "a") as held:  # as the process training it holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(aekit.CheckpointError, match=r"is in use by another aekit process"):
            export_model(run, tmp_path / "e.pt", format="torchscript")
    (run / ckpt.MODEL_FILE).unlink()  # killed before its end: the checkpoint is what there is
    with pytest.warns(UserWarning, match=r"run holds no model.safetensors \(a run writes it as training ends: it has "
                                         r"not finished, or the file was removed\): these are the weights of its last "
                                         r"checkpoint \(epoch 2\), not its final ones; `aekit resume"):
        export_model(run, tmp_path / "e.pt", format="torchscript")


def test_an_onnx_export_replaces_an_export_never_another_file(trained, tmp_path):
    pytest.importorskip("onnxscript")
    model, _ = trained
    (tmp_path / "mine.onnx").write_text("x")  # a file of the user's that happens to end in .onnx
    with pytest.raises(aekit.ConfigError, match=r"mine.onnx is there and is not an export of aekit's \(onnx\)"):
        export_model(model, tmp_path / "mine.onnx")
    assert (tmp_path / "mine.onnx").read_text() == "x"
    export_model(model, tmp_path / "e.onnx")
    export_model(model, tmp_path / "e.onnx", part="decoder")  # an export is replaced


def test_a_conditional_model_of_your_own_exports_the_parts_that_take_no_label(tmp_path):
    """A review: a model of your own conditioning forward alone (the contract) failed to export its encoder
    ("encode() got an unexpected keyword argument 'y'")."""
    from aekit.models.dense import DenseAutoencoder

    class CondDense(DenseAutoencoder):
        conditional = True

        def forward(self, x, *, y=None):
            return super().forward(x)

    model = CondDense(DenseAutoencoder.Config(input_shape=(1, 8, 8), hidden=(8,), code_size=2)).eval()
    loaded = torch.jit.load(str(export_model(model, tmp_path / "e.pt", format="torchscript")))
    x = torch.rand(3, 1, 8, 8)
    torch.testing.assert_close(loaded(x), reference(model, "encoder", x), atol=1e-5, rtol=0)


    class CondDecoder(CondDense):  # a decoder that takes y, an encoder that does not (a second review)
        def decode(self, z, y=None):
            return super().decode(z)

    model = CondDecoder(DenseAutoencoder.Config(input_shape=(1, 8, 8), hidden=(8,), code_size=2)).eval()
    loaded = torch.jit.load(str(export_model(model, tmp_path / "d.pt", format="torchscript", part="decoder")))
    z = torch.rand(3, 2)
    torch.testing.assert_close(loaded(z, torch.tensor([0, 1, 0])), reference(model, "decoder", z), atol=1e-5, rtol=0)


def test_a_model_saved_in_float64_exports_in_float32(tmp_path):
    """A review: load_model keeps a float64 model's precision, and export then traced it with a float32 example
    ('mat1 and mat2 must have the same dtype'; 'use --format onnx', which failed too)."""
    model = aekit.create_model("dense", input_shape=(6,), hidden=[4], code_size=2).double().eval()
    path = aekit.save_model(model, tmp_path / "m64.safetensors")
    export_model(path, tmp_path / "e.pt", format="torchscript")
    traced = torch.jit.load(str(tmp_path / "e.pt"))
    x = torch.rand(5, 6)
    torch.testing.assert_close(traced(x), model.encode(x.double()).float(), rtol=1e-5, atol=1e-6)
    assert model.encoder[0].weight.dtype == torch.float64  # the caller's left as it was


def test_an_onnx_export_of_more_weights_than_one_file_holds_is_refused(tmp_path, monkeypatch):
    """A scale hunt: above 2 GB torch's exporter kept the weights in a file named after the hidden temporary, which a
    copy of the .onnx file lost; refused before any work, naming the format that holds them."""
    from aekit.apps import export

    monkeypatch.setattr(export, "_to_onnx", lambda *a: pytest.fail("exported"))
    monkeypatch.setattr(export, "ONNX_MAX_BYTES", 1000)
    found = export.importlib.util.find_spec  # (onnx present or not: a core install runs it too)
    monkeypatch.setattr(export.importlib.util, "find_spec",
                        lambda name, *a: object() if name in ("onnx", "onnxscript") else found(name, *a))
    model = aekit.create_model("dense", input_shape=(64,), hidden=[8], code_size=2)  # ~4.5 KB of float32 weights
    with pytest.raises(aekit.ConfigError, match=r"^export: the full's weights take 0.00 GiB, more than one ONNX file "
                                                r"holds \(2 GiB\); use format 'torchscript'"):
        export_model(model, tmp_path / "m.onnx", part="full")
    assert not list(tmp_path.iterdir())


def test_an_onnx_export_writes_through_a_temporary_of_its_own(tmp_path, monkeypatch):
    """A kill trial: every ONNX export of a file went through the one name .encoder.onnx.tmp, which each export
    removed as it ended (two at once: one could take the other's half-written file)."""
    from aekit.apps import export
    from aekit.writing import is_temporary

    names = []

    def fake(wrapper, example, tmp, part):  # the real one takes seconds
        names.append(tmp.name)
        tmp.write_bytes(b"onnx")

    monkeypatch.setattr(export, "_to_onnx", fake)
    found = export.importlib.util.find_spec  # (onnx itself is not needed by the fake: a core install runs it too,
    monkeypatch.setattr(export.importlib.util, "find_spec",  # a lower-bounds trial saw it refused there)
                        lambda name, *a: object() if name in ("onnx", "onnxscript") else found(name, *a))
    model = aekit.create_model("dense", input_shape=(4,), hidden=[4], code_size=2)
    for _ in range(2):  # the same file twice: a temporary of its own each time (a review: a.onnx and b.onnx passed
        export_model(model, tmp_path / "a.onnx", part="encoder")  # on one name a file)
        (tmp_path / "a.onnx").unlink()
    assert len(set(names)) == 2 and all(is_temporary(n) for n in names) and not list(tmp_path.glob(".*.tmp"))
