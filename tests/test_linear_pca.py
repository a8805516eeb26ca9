"""The undercomplete linear autoencoder trained with MSE spans PCA's subspace (Baldi & Hornik 1989)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

import aekit


def test_linear_decoder_spans_the_pca_subspace(mnist_mini):
    x = mnist_mini.x[:2000]  # real MNIST digits
    k = 6  # MNIST's 6th and 7th eigenvalues are well apart, so the subspace is well defined
    pca = PCA(k).fit(x.reshape(len(x), -1).numpy())
    torch.manual_seed(0)
    model = aekit.create_model("linear", input_shape=(1, 28, 28), code_size=k)
    untrained = np.degrees(subspace_angles(model.decoder.weight.detach().numpy(), pca.components_.T))
    aekit.fit(model, x, epochs=60, batch_size=64, lr=1e-2, lr_schedule="cosine", progress=False)
    angles = np.degrees(subspace_angles(model.decoder.weight.detach().numpy(), pca.components_.T))
    assert untrained.max() > 80  # a random subspace is nearly orthogonal to PCA's
    assert angles.max() < 3.0, f"principal angles (degrees): {np.round(angles, 2)}"
    # and the reconstruction error matches PCA's optimum
    flat = x.reshape(len(x), -1).numpy()
    pca_error = ((pca.inverse_transform(pca.transform(flat)) - flat) ** 2).sum(1).mean()
    model.eval()
    with torch.no_grad():
        ae_error = model.loss(x, model(x))["recon"].item()
    assert ae_error < 1.01 * pca_error


def test_the_pca_baseline_is_exact_pca_on_noisy_signals():
    """The baseline was a randomized SVD wherever k < 0.8 of the features: on windows of noisy sines it left
    0.6% more error than PCA, more than some margins an autoencoder "beat" it by. It is exact now."""
    from aekit.models.pca import PCABaseline

    rng = np.random.default_rng(0)
    t = np.arange(768)
    x = np.sin(np.outer(rng.uniform(0.01, 0.3, 3000), t) + rng.uniform(0, 6.3, (3000, 1))) + rng.normal(0, 0.5, (3000, 768))
    centred = x - x.mean(0)
    components = np.linalg.svd(centred, full_matrices=False)[2][:16]
    exact = ((centred - centred @ components.T @ components) ** 2).sum(1).mean()
    assert PCABaseline(x, 16).squared_error(x).mean() == pytest.approx(exact, rel=1e-9)


def test_the_pca_baseline_works_through_its_samples_a_chunk_at_a_time(monkeypatch):
    """A memory trial: its float64 expression over a whole evaluation sample of 128 x 128 images passed 6.5 GB;
    rows go through some MB at a time, to the same figures."""
    import numpy as np

    from aekit.models import pca

    x = np.random.default_rng(0).random((50, 1, 4, 5)).astype(np.float32)
    baseline = pca.PCABaseline(x, 3)
    flat = x.reshape(50, -1).astype(np.float64)
    whole = (flat - baseline.mean) @ baseline.components.T
    monkeypatch.setattr(pca, "CHUNK_BYTES", 8 * 20 * 7)  # 7 rows a chunk: 8 chunks, the last short
    np.testing.assert_allclose(baseline.encode(x), whole)
    np.testing.assert_allclose(baseline.squared_error(x), ((whole @ baseline.components + baseline.mean - flat) ** 2).sum(1))
    assert baseline.reconstruct(x).shape == x.shape and baseline.reconstruct(x).dtype == np.float32
    assert baseline.squared_error(x[:0]).shape == (0,)


def test_a_long_start_from_the_data_is_said_first(monkeypatch, capsys):
    """A memory trial: the PCA start on 3072-wide rows took 45 s after the run's first line, without a word."""
    import aekit
    from aekit.training import loop

    monkeypatch.setattr(loop, "START_SAID_VALUES", 100)
    model = aekit.create_model("dense", input_shape=(8,), hidden=[4], code_size=2, linear_path=True,
                               recon_loss="mse", output_activation="linear")
    aekit.fit(model, torch.rand(40, 8), epochs=1, progress=True)
    assert "dense: fitting its PCA start to the training data (40 samples) ..." in capsys.readouterr().out
    for plain in (aekit.create_model("dense", input_shape=(8,), hidden=[4], code_size=2),  # no PCA start: nothing said
                  aekit.create_model("vae", input_shape=(8,), hidden=[4], code_size=2)):
        aekit.fit(plain, torch.rand(40, 8), epochs=1, progress=True)
        assert "PCA start" not in capsys.readouterr().out
