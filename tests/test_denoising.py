"""denoising: corruption only while training, each noise kind's statistics, loss against the clean
input, and real denoising of MNIST digits."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import aekit
from aekit.data import load_dataset

SHAPE = (1, 28, 28)


def make(**config):
    return aekit.create_model("denoising", input_shape=SHAPE, hidden=(32,), code_size=8, **config)


def psnr(a, b):
    """Peak signal-to-noise ratio in dB for images in [0, 1]."""
    return (10 * torch.log10(1 / F.mse_loss(a, b))).item()


# --- config validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("noise", "speckle"),
        ("noise_std", -0.1),
        ("noise_fraction", 1.0),
        ("noise_fraction", -0.2),
        ("data_range", [1.0, 0.0]),
        ("data_range", [0.0, 0.5, 1.0]),
    ],
)
def test_bad_values_name_the_key(key, value):
    with pytest.raises(aekit.ConfigError, match=key):
        make(**{key: value})


# --- train vs eval --------------------------------------------------------------------------------


def test_corrupts_in_train_mode_only(real_batch):
    x = real_batch[:16]
    model = make(noise="gaussian", noise_std=0.3).train()
    a, b = model(x), model(x)
    assert not torch.equal(a.extras["x_noisy"], x)
    assert not torch.equal(a.extras["x_noisy"], b.extras["x_noisy"])  # fresh noise each call
    assert not torch.equal(a.x_hat, b.x_hat)

    model.eval()
    with torch.no_grad():
        c, d = model(x), model(x)
        clean = model.decode(model.encode(x))
    assert torch.equal(c.x_hat, d.x_hat)
    assert torch.equal(c.x_hat, clean)
    assert c.extras["x_noisy"] is x


def test_loss_compares_with_the_clean_input(real_batch):
    x = real_batch[:16]
    model = make(noise="masking", noise_fraction=0.5).train()
    out = model(x)
    terms = model.loss(x, out)

    def bce(target):
        return F.binary_cross_entropy_with_logits(out.logits, target, reduction="none").flatten(1).sum(1).mean()

    assert torch.allclose(terms["recon"], bce(x))
    assert not torch.allclose(terms["recon"], bce(out.extras["x_noisy"]))


def test_corrupt_is_reproducible_with_a_generator(real_batch):
    model = make(noise="salt_and_pepper", noise_fraction=0.3)
    x = real_batch[:8]
    a = model.corrupt(x, generator=torch.Generator().manual_seed(3))
    b = model.corrupt(x, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert not torch.equal(a, x)


# --- statistics of each noise kind ----------------------------------------------------------------


def test_masking_zeroes_the_requested_fraction(real_batch):
    x = real_batch  # (512, 1, 28, 28)
    noisy = make(noise="masking", noise_fraction=0.3).corrupt(x)
    lit = x > 0
    zeroed = (noisy[lit] == 0).float().mean().item()
    assert zeroed == pytest.approx(0.3, abs=0.01)
    kept = noisy != 0
    assert torch.equal(noisy[kept], x[kept])  # untouched inputs keep their values
    assert (noisy[~lit] == 0).all()


def test_gaussian_noise_has_the_requested_std_and_is_clipped(real_batch):
    flat = torch.full((1000, *SHAPE), 0.5)  # far from the range's ends: clipping is (almost) never active
    noise = make(noise="gaussian", noise_std=0.1).corrupt(flat) - flat
    assert noise.std().item() == pytest.approx(0.1, rel=0.02)
    assert noise.mean().item() == pytest.approx(0.0, abs=2e-3)

    noisy = make(noise="gaussian", noise_std=0.5).corrupt(real_batch)
    assert noisy.min().item() == 0.0 and noisy.max().item() == 1.0
    assert ((noisy > 0) & (noisy < 1)).float().mean() > 0.3  # most values are noisy, not all clipped
    # clipping to [0, 1]: background pixels (0) go up with prob 1/2 and stay at 0 otherwise
    background = noisy[real_batch == 0]
    assert (background == 0).float().mean().item() == pytest.approx(0.5, abs=0.01)


def test_gaussian_clips_to_the_given_or_batch_range():
    x = torch.linspace(-3, 5, 800).reshape(1, 800).repeat(50, 1)
    model = aekit.create_model("denoising", input_shape=(800,), hidden=(8,), code_size=2,
                               recon_loss="mse", output_activation="linear",
                               noise="gaussian", noise_std=2.0, data_range=None)
    noisy = model.corrupt(x)
    assert noisy.min().item() == -3.0 and noisy.max().item() == 5.0
    model = aekit.create_model("denoising", input_shape=(800,), hidden=(8,), code_size=2,
                               recon_loss="mse", output_activation="linear",
                               noise="gaussian", noise_std=2.0, data_range=[-1.0, 2.0])
    noisy = model.corrupt(x)
    assert noisy.min().item() == -1.0 and noisy.max().item() == 2.0


def test_salt_and_pepper_sets_the_fraction_to_the_range_ends():
    x = torch.full((1000, *SHAPE), 0.5)
    noisy = make(noise="salt_and_pepper", noise_fraction=0.2).corrupt(x)
    hit = noisy != 0.5
    assert hit.float().mean().item() == pytest.approx(0.2, abs=0.005)
    assert ((noisy[hit] == 0) | (noisy[hit] == 1)).all()
    assert (noisy[hit] == 1).float().mean().item() == pytest.approx(0.5, abs=0.01)


def test_dropout_zeroes_and_rescales():
    x = torch.ones(1000, *SHAPE)
    noisy = make(noise="dropout", noise_fraction=0.4).corrupt(x)
    dropped = noisy == 0
    assert dropped.float().mean().item() == pytest.approx(0.4, abs=0.005)
    assert torch.allclose(noisy[~dropped], torch.tensor(1 / 0.6))
    assert noisy.mean().item() == pytest.approx(1.0, abs=0.01)  # expectation preserved


def test_zero_noise_is_a_plain_autoencoder(real_batch):
    x = real_batch[:8]
    assert torch.equal(make(noise="masking", noise_fraction=0.0).corrupt(x), x)
    assert torch.equal(make(noise="gaussian", noise_std=0.0).corrupt(x), x)


# --- real denoising -------------------------------------------------------------------------------


def test_denoises_gaussian_noisy_mnist_digits(mnist_mini):
    test_digits = load_dataset("mnist-mini", "test").x[:500]
    model = aekit.create_model("denoising", input_shape=SHAPE, hidden=(), code_size=128,
                               noise="gaussian", noise_std=0.5)
    aekit.fit(model, mnist_mini.x[:3000], epochs=8, batch_size=32, lr=3e-3, progress=False)
    model.eval()
    noisy = model.corrupt(test_digits, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        denoised = model(noisy).x_hat
    noisy_psnr, denoised_psnr = psnr(noisy, test_digits), psnr(denoised, test_digits)
    # measured ~9.4 dB -> ~16 dB; +5 dB means the squared error to the clean digits is 3x smaller
    assert denoised_psnr > noisy_psnr + 5, (noisy_psnr, denoised_psnr)


def test_data_outside_data_range_is_refused_with_the_fix():
    model = aekit.create_model("denoising", input_shape=(4,), hidden=(4,), code_size=2, recon_loss="mse",
                               output_activation="linear", noise="gaussian")
    standardised = torch.randn(64, 4)
    with pytest.raises(aekit.DataError, match="data_range"):
        aekit.fit(model, standardised, epochs=1, progress=False)
    model = aekit.create_model("denoising", input_shape=(4,), hidden=(4,), code_size=2, recon_loss="mse",
                               output_activation="linear", noise="gaussian", data_range=None)
    aekit.fit(model, standardised, epochs=1, progress=False)
