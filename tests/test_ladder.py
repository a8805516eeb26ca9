"""The ladder network (models/ladder.py): its two paths, combinator, costs, Γ-model, and a real gain from unlabelled digits."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import aekit
from aekit.data import load_dataset
from aekit.models.classifier import select_labels
from aekit.models.ladder import Combinator, Ladder
from aekit.registry import list_models


def small(**config) -> Ladder:
    return aekit.create_model("ladder", **{"input_shape": (1, 28, 28), "n_classes": 10, "hidden": (32, 16), **config})


def labels_with_gaps(n: int) -> torch.Tensor:
    """(n,) labels, every third row -1 (unlabelled)."""
    y = torch.arange(n) % 10
    y[::3] = -1
    return y


def test_registered_as_semi_supervised():
    assert "ladder" in list_models("semi-supervised")
    assert "ladder" not in list_models()  # not an autoencoder: the autoencoder contract tests skip it


def test_paths_share_weights_and_differ_only_by_noise(real_batch):
    x = real_batch[:64]
    model = small(noise_std=0.0).train()
    out = model(x)
    assert torch.allclose(out.noisy_logits, out.logits, atol=1e-5)  # noise off: the same function
    torch.manual_seed(1)
    noisy = small(noise_std=0.3).train()
    noisy.load_state_dict(model.state_dict())  # same weights as `model`
    torch.manual_seed(2)
    out_noisy = noisy(x)
    assert torch.allclose(out_noisy.logits, out.logits, atol=1e-5)  # the clean path has no noise
    assert (out_noisy.noisy_logits - out.logits).abs().mean() > 0.1
    # the input's corruption is Gaussian with std noise_std
    torch.manual_seed(3)
    corrupted = noisy._encode(x.reshape(64, -1), corrupt=True)
    assert abs(float((corrupted.z[0] - x.reshape(64, -1)).std()) - 0.3) < 0.01
    # one set of encoder weights: W, beta per layer and the top's gamma, no second copy for the noisy path
    widths = (784, 32, 16, 10)
    encoder = sum(a * b + b for a, b in zip(widths, widths[1:])) + 10
    decoder = sum(b * a for a, b in zip(widths, widths[1:])) + sum(10 * w for w in widths)
    assert sum(p.numel() for p in noisy.parameters()) == encoder + decoder
    grads = torch.autograd.grad(out_noisy.noisy_logits.sum(), noisy.weights[0].weight)
    assert grads[0].abs().sum() > 0  # the noisy path runs through the shared first layer


def test_combinator_is_the_papers_formula():
    g = Combinator(2)
    z, u = torch.tensor([[0.5, -1.0]]), torch.tensor([[2.0, 0.3]])
    assert torch.equal(g(z, u), torch.zeros(1, 2))  # a2 = a7 = 1, the rest 0: ẑ starts at 0
    a = [[0.7, -0.2], [1.3, 0.5], [0.1, 2.0], [-0.4, 0.6], [0.05, -1.5],
         [1.1, 0.8], [-0.9, 1.7], [0.3, -0.3], [0.25, 0.45], [0.6, -0.1]]  # a1..a10, one column per unit
    g.requires_grad_(False)
    with torch.no_grad():
        g.a.copy_(torch.tensor(a))
    sigmoid = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
    for j in range(2):
        a1, a2, a3, a4, a5, a6, a7, a8, a9, a10 = (row[j] for row in a)
        uj, zj = float(u[0, j]), float(z[0, j])
        mu = a1 * sigmoid(a2 * uj + a3) + a4 * uj + a5
        v = a6 * sigmoid(a7 * uj + a8) + a9 * uj + a10
        assert float(g(z, u)[0, j]) == pytest.approx((zj - mu) * v + mu, rel=1e-6)


def test_unlabelled_rows_never_reach_the_cross_entropy(real_batch):
    model = small().train()
    x, y = real_batch[:24], labels_with_gaps(24)
    labelled = y >= 0
    out = model(x)
    out.noisy_logits.retain_grad()
    terms = model.loss(x, out, y=y)
    expected = F.cross_entropy(out.noisy_logits[labelled], y[labelled])
    assert torch.allclose(terms["supervised"], expected)
    terms["supervised"].backward()
    assert torch.equal(out.noisy_logits.grad[~labelled], torch.zeros(int((~labelled).sum()), 10))
    assert out.noisy_logits.grad[labelled].abs().sum() > 0
    # other scores on the unlabelled rows leave the supervised term and the error unchanged
    changed = type(out)(**{**vars(out), "noisy_logits": out.noisy_logits.detach().clone(), "logits": out.logits.clone()})
    changed.noisy_logits[~labelled] = torch.randn(int((~labelled).sum()), 10) * 10
    changed.logits[~labelled] = torch.randn(int((~labelled).sum()), 10) * 10
    again = model.loss(x, changed, y=y)
    assert torch.allclose(again["supervised"], terms["supervised"])
    assert torch.equal(again["error"], terms["error"])
    wrong = (out.logits.argmax(1)[labelled] != y[labelled]).float().mean()  # error: the clean path's, labelled rows
    assert torch.allclose(terms["error"], wrong)
    # no labelled row at all: zero supervised term and error, not NaN; the same keys every batch
    for none in (None, torch.full((24,), -1)):
        empty = model.loss(x, model(x), y=none)
        assert empty.keys() == terms.keys()
        assert empty["supervised"].item() == 0.0 and empty["error"].item() == 0.0
        assert torch.allclose(empty["loss"], empty["denoising"])


def test_all_labelled_loss_is_supervised_plus_denoising(real_batch):
    model = small().train()
    x, y = real_batch[:32], torch.arange(32) % 10
    out = model(x)
    terms = model.loss(x, out, y=y)
    assert torch.allclose(terms["supervised"], F.cross_entropy(out.noisy_logits, y))
    assert torch.allclose(terms["loss"], terms["supervised"] + terms["denoising"])
    per_layer = {k: v for k, v in terms.items() if k.startswith("denoising_")}
    assert list(per_layer) == [f"denoising_{i}" for i in range(4)]  # input, 2 hidden, top
    assert torch.allclose(terms["denoising"], sum(per_layer.values()))
    lambdas = model.config.lambdas
    assert lambdas == (1000.0, 10.0, 0.1, 0.1)  # the paper's MNIST weights
    # each term is lambda_l times the mean squared error between clean z_l and ẑ_l normalised with the
    # clean path's batch statistics (layer 0: the input itself)
    assert torch.allclose(out.z[0], x.reshape(32, -1))
    assert torch.allclose(terms["denoising_0"], 1000 * ((out.z_hat[0] - out.z[0]) ** 2).mean())
    assert all(torch.allclose(out.z[i].mean(0), torch.zeros(out.z[i].shape[1]), atol=1e-4) for i in (1, 2, 3))


def test_gamma_model_has_only_the_top_cost(real_batch):
    model = small(denoise="top").train()
    x, y = real_batch[:16], torch.arange(16) % 10
    terms = model.loss(x, model(x), y=y)
    assert [k for k in terms if k.startswith("denoising_")] == ["denoising_3"]
    assert model.config.lambdas == (0.0, 0.0, 0.0, 0.5)
    assert len(model.up) == 0 and list(model.combinators) == ["3"]  # no decoder below the top
    assert torch.allclose(terms["loss"], terms["supervised"] + terms["denoising_3"])
    with pytest.raises(aekit.ConfigError, match="denoising_weights: denoise 'top' has a cost on the top layer only"):
        small(denoise="top", denoising_weights=(1.0, 0.0, 0.0, 2.0))
    assert small(denoise="top", denoising_weights=(0, 0, 0, 2)).config.lambdas == (0.0, 0.0, 0.0, 2.0)


def test_bad_settings_and_labels_are_refused(real_batch):
    with pytest.raises(aekit.ConfigError, match=r"denoising_weights: needs 4 numbers \(input, 2 hidden layers, top\), got 3"):
        small(denoising_weights=(1.0, 1.0, 1.0))
    with pytest.raises(aekit.ConfigError, match="n_classes"):
        small(n_classes=1)
    with pytest.raises(aekit.ConfigError, match="denoise: 'some' is not allowed"):
        small(denoise="some")
    with pytest.raises(aekit.ConfigError, match="unknown key 'lambdas'"):
        small(lambdas=(1, 2))
    model = small()
    with pytest.raises(aekit.DataError, match=r"labels must be in \[0, 9\] for 10 classes, or -1 for unlabelled"):
        aekit.fit(model, (real_batch[:32], torch.full((32,), -2)), epochs=1, progress=False)
    with pytest.raises(aekit.DataError, match="expects"):
        aekit.fit(model, (torch.rand(8, 10), torch.zeros(8, dtype=torch.long)), epochs=1, progress=False)


def test_eval_mode_is_deterministic(real_batch):
    model = small()
    aekit.fit(model, (real_batch[:128], labels_with_gaps(128)), epochs=1, batch_size=32, progress=False)
    x = real_batch[:16]
    model.train()
    assert not torch.equal(model(x).noisy_logits, model(x).noisy_logits)  # training: fresh noise
    model.eval()
    with torch.no_grad():
        first, second = model(x), model(x)
        assert torch.equal(first.logits, second.logits)
        assert torch.equal(first.noisy_logits, first.logits)  # no noise in eval mode
        one = model.loss(x, first, y=torch.arange(16) % 10)
        two = model.loss(x, second, y=torch.arange(16) % 10)
        assert all(torch.equal(one[k], two[k]) for k in one)
        # running statistics: a sample's scores do not depend on the rest of its batch
        assert torch.allclose(model(x[:4]).logits, first.logits[:4], atol=1e-5)


def test_fit_save_load_roundtrip(real_batch, mnist_mini, tmp_path):
    model = small()
    x, y = real_batch[:200], labels_with_gaps(200)
    val = (mnist_mini.x[-64:], mnist_mini.y[-64:])
    history = aekit.fit(model, (x, y), val, epochs=2, batch_size=50, monitor="val_error",
                        run_dir=tmp_path / "run", progress=False)
    assert {"train_loss", "train_error", "train_supervised", "train_denoising", "val_error"} <= history.keys()
    assert 0.0 <= history["val_error"][-1] <= 1.0
    assert history["val_error"][-1] == pytest.approx(1 - model.accuracy(val), abs=1e-6)  # fully labelled val: exact
    for loaded in (aekit.load_model(aekit.save_model(model, tmp_path / "m.safetensors")),
                   aekit.load_model(tmp_path / "run")):
        assert type(loaded) is Ladder and loaded.config == model.config and not loaded.training
        assert torch.equal(loaded.predict_proba(val[0]), model.predict_proba(val[0]))
        assert loaded.predict(val[0]).shape == (64,)


def test_unlabelled_digits_beat_the_same_mlp_on_the_labels_alone(mnist_mini):
    """2,000 real MNIST digits, 20 of them labelled (2 a class): 840 steps of the ladder against the same
    MLP (its clean encoder: no noise, no decoder cost) trained as long on the 20 labelled digits alone."""
    test = load_dataset("mnist-mini", "test")
    pool = mnist_mini.subset(torch.arange(2000))
    labelled = select_labels(pool, labels_per_class=2, seed=0)
    # until batches are mixed by the trainer: the labelled digits 5 more times, ~5 in every batch of 100
    x = torch.cat([pool.x] + [labelled.x] * 5)
    y = torch.cat([torch.full((2000,), -1)] + [labelled.y] * 5)
    settings = {"hidden": (256, 128), "input_shape": (1, 28, 28), "n_classes": 10}
    ladder = aekit.create_model("ladder", **settings)
    aekit.fit(ladder, (x, y), epochs=40, batch_size=100, lr=3e-3, progress=False)  # 21 steps an epoch
    mlp = aekit.create_model("ladder", **settings, noise_std=0.0, denoising_weights=(0.0,) * 4)
    aekit.fit(mlp, labelled, epochs=840, batch_size=20, lr=3e-3, progress=False)  # 1 step an epoch
    ladder_acc, mlp_acc = ladder.accuracy(test), mlp.accuracy(test)
    assert mlp_acc > 0.3  # a real baseline: it learnt from its 20 digits
    assert ladder_acc > mlp_acc + 0.03, (ladder_acc, mlp_acc)
