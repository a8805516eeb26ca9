"""The conditional VAE: labels reach it through the trainer, it generates the requested digit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import aekit

SHAPE = (1, 28, 28)


def small(**config):
    return aekit.create_model("cvae", input_shape=SHAPE, hidden=(64,), code_size=4, **config)


def test_the_label_changes_encoding_and_decoding(real_batch):
    model = small().eval()
    x = real_batch[:8]
    z = torch.randn(8, 4)
    as_3, as_7 = model.decode(z, y=3), model.decode(z, y=torch.full((8,), 7))
    assert as_3.shape == (8, *SHAPE) and not torch.equal(as_3, as_7)
    assert not torch.equal(model.encode(x, y=torch.zeros(8, dtype=torch.long)), model.encode(x))
    unlabelled = model(x)  # no labels: the zero condition
    torch.testing.assert_close(unlabelled.x_hat, model.decode(model.encode(x)))


def test_the_trainer_passes_labels_to_forward(real_batch, mnist_mini, monkeypatch):
    model = small(label_dropout=0.0)
    seen = []
    forward = model.forward
    monkeypatch.setattr(model, "forward", lambda x, *, y=None: seen.append(y) or forward(x, y=y))
    aekit.fit(model, (real_batch[:32], mnist_mini.y[:32]), epochs=1, batch_size=16, progress=False)
    assert len(seen) == 2 and all(y is not None and len(y) == 16 for y in seen)
    history = aekit.fit(model, (real_batch[:32], mnist_mini.y[:32]), real_batch[:16], epochs=1, progress=False)
    assert "val_loss" in history  # unlabelled validation data: forward(x, y=None)
    with pytest.warns(UserWarning, match=r"^cvae: the training data have no labels; it learns as a plain model"):
        aekit.fit(model, real_batch[:32], epochs=1, progress=False)  # a trial: it trained so without a word


def test_bad_labels_are_refused_in_one_line(real_batch):
    model = small(n_classes=3)
    with pytest.raises(aekit.DataError, match="labels must be integers in 0..2"):
        aekit.fit(model, (real_batch[:8], torch.arange(8)), epochs=1, progress=False)
    with pytest.raises(aekit.DataError, match=r"^y: one class number in 0\.\.2 .*None for no class\), got 5$"):
        model.sample(2, y=5)  # (it gave training advice: "model.n_classes is 3: give as many as the data hold")


def test_generates_the_requested_digit(mnist_mini, feature_clf):
    torch.manual_seed(0)
    # a 2-d code holds the style, little else: the class must come from the label (the classic demo)
    model = aekit.create_model("cvae", input_shape=SHAPE, hidden=(256,), code_size=2)
    aekit.fit(model, mnist_mini, epochs=4, batch_size=64, lr=2e-3, progress=False)
    labels = torch.arange(10).repeat_interleave(20)
    samples = model.sample(200, y=labels, generator=torch.Generator().manual_seed(0))
    accuracy = (feature_clf.predict(samples) == labels.numpy()).mean()
    assert accuracy > 0.85, accuracy
    unconditional = model.sample(200, generator=torch.Generator().manual_seed(0))
    assert (feature_clf.predict(unconditional) == labels.numpy()).mean() < 0.5  # the label is what decides


@pytest.mark.parametrize(("values", "key"), [({"n_classes": 0}, "n_classes"), ({"label_dropout": 1.5}, "label_dropout")])
def test_bad_config_names_the_key(values, key):
    with pytest.raises(aekit.ConfigError, match=key):
        small(**values)


def test_aekit_train_sets_n_classes_from_the_data_unless_given(tmp_path):
    """A 12-class table was refused ("labels must be integers in 0..9") and a 4-class folder trained with 10
    classes, 6 of them never seen, which sample(y=5) then drew without a word (a generative-models trial)."""
    import numpy as np
    import yaml

    from aekit.apps.cli import main

    rows = np.random.default_rng(0).random((48, 4))
    (tmp_path / "t.csv").write_text("a,b,c,d,label\n" + "\n".join(
        ",".join(f"{v:.3f}" for v in row) + f",{i % 12}" for i, row in enumerate(rows)))
    common = ["model.name=cvae", "model.recon_loss=mse", f"data.name={tmp_path / 't.csv'}", "train.epochs=1",
              f"output.dir={tmp_path}", "--quiet"]
    assert main(["train", *common, "output.name=r"]) == 0
    assert yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())["model"]["n_classes"] == 12
    assert aekit.load_model(tmp_path / "r").config.n_classes == 12
    with pytest.raises(aekit.DataError, match=r"labels must be integers in 0\.\.9, one per sample \(model.n_classes is 10"):
        aekit.create_model("cvae", input_shape=(4,), hidden=[8], code_size=2).check_labels(torch.tensor([11]))


def test_sample_refuses_a_class_name_or_labels_of_another_count_in_one_line():
    """sample(4, y="Sandal") was torch's TypeError, y=[1, 2] a RuntimeError of sizes, sample(2.5) randn's."""
    model = small(n_classes=3)
    for y in ("Sandal", [1, 2], 1.5, -1):
        with pytest.raises(aekit.DataError, match=r"^y: one class number in 0\.\.2 or n = 4 of them \(data.classes.index"):
            model.sample(4, y=y)
    with pytest.raises(aekit.ConfigError, match=r"^n: must be a whole number > 0, got 2.5"):
        model.sample(2.5)
    assert model.sample(2, y=[0, 2]).shape[0] == 2 and model.sample(2, y=torch.tensor(1)).shape[0] == 2
    x = torch.rand(2, *model.config.input_shape)  # a trial: encode and forward gave torch's one_hot RuntimeError
    for call in (lambda: model.encode(x, y=torch.tensor([11, 1])), lambda: model.eval()(x, y=torch.tensor([0, 3]))):
        with pytest.raises(aekit.DataError, match=r"^y: one class number in 0\.\.2 or n = 2 of them"):
            call()


def test_n_classes_counts_every_parts_classes_and_leaves_unlabelled_data_alone(tmp_path, capsys):
    """A review: MVTec's test defects, numbered after train/'s one class, crashed evaluation ("Class values must
    be smaller than num_classes"); all-unlabelled data was told "model.n_classes: must be > 0"."""
    import numpy as np
    from PIL import Image

    from aekit.apps.cli import main

    rng = np.random.default_rng(0)
    for part, classes in (("train", ["good"]), ("test", ["good", "hole", "scratch"])):
        for name in classes:
            (tmp_path / "mv" / part / name).mkdir(parents=True)
            for i in range(6 if part == "train" else 2):
                Image.fromarray(rng.integers(0, 256, (6, 6), dtype=np.uint8)).save(tmp_path / "mv" / part / name / f"{i}.png")
    common = ["model.name=cvae", "model.hidden=[8]", "model.code_size=2", "train.epochs=1", f"output.dir={tmp_path}", "--quiet"]
    assert main(["train", f"data.name={tmp_path / 'mv'}", *common, "output.name=run"]) == 0  # trained and evaluated
    assert aekit.load_model(tmp_path / "run").config.n_classes == 3
    np.savez(tmp_path / "u.npz", x=rng.random((20, 5)).astype(np.float32), y=-np.ones(20, dtype=np.int64))
    assert main(["train", f"data.name={tmp_path / 'u.npz'}", "model.recon_loss=mse", *common, "output.name=u"]) == 2
    assert "-1 (unlabelled) needs a semi-supervised model such as ladder or m2" in capsys.readouterr().err


def test_random_samples_take_a_class():
    """random_samples could not choose a cvae's class (an inspection trial): y= passes to its sample."""
    from aekit.analysis import random_samples

    model = aekit.create_model("cvae", input_shape=(1, 8, 8), hidden=(16,), code_size=2, n_classes=3)
    images, _ = random_samples(model, 4, y=2)
    with torch.no_grad():
        torch.manual_seed(0)
        expected = model.eval().sample(4, y=2)
    assert images.shape == (4, 1, 8, 8) and np.allclose(images, expected.numpy(), atol=1e-6)
    with pytest.raises(aekit.DataError, match=r"^y: one class number in 0\.\.2"):
        random_samples(model, 4, y=5)
    with pytest.raises(aekit.ConfigError, match=r"^y: model 'vae' is not conditioned on a class"):
        random_samples(aekit.create_model("vae", input_shape=(1, 8, 8), hidden=(16,), code_size=2), 4, y=1)


def test_a_loop_of_ones_own_that_gives_labels_to_loss_alone_is_refused(real_batch):
    """A plain-PyTorch trial: `model.loss(x, model(x), y=y)`, as the contract's signature reads, trained an
    unconditional model without a word (labels reach a cvae through forward); float labels were taken in
    training mode, and an empty batch failed in torch's min()."""
    model = small()
    x, y = real_batch[:8], torch.arange(8) % 3
    with pytest.raises(aekit.DataError, match=r"forward\(x, y=y\)"):
        model.loss(x, model(x), y=y)
    model.loss(x, model(x, y=y), y=y)["loss"].backward()  # the way that conditions it
    with pytest.raises(aekit.DataError, match="one class number"):
        model(x, y=y.float())  # in training mode too
    assert model.eval()(x[:0], y=y[:0]).x_hat.shape == (0, *SHAPE)
