"""sparse-l1 and sparse-kl: config checks, the penalties' arithmetic, and sparsity on real digits."""

from __future__ import annotations

import math

import pytest
import torch

import aekit
from aekit.models.sparse import kl_bernoulli

SHAPE = (1, 28, 28)


def train_on_digits(model, x, *, epochs, batch_size=32, lr=1e-2):
    aekit.fit(model, x, epochs=epochs, batch_size=batch_size, lr=lr, progress=False, seed=0)
    return model.eval()


# --- config validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("sparse-l1", "l1_weight", -0.1),
        ("sparse-kl", "sparsity_target", 0.0),
        ("sparse-kl", "sparsity_target", 1.0),
        ("sparse-kl", "sparsity_weight", -1.0),
        ("sparse-kl", "sparsity_momentum", 1.0),
        ("sparse-kl", "sparsity_momentum", -0.5),
        ("sparse-kl", "code_activation", "relu"),
    ],
)
def test_bad_values_name_the_key(name, key, value):
    with pytest.raises(aekit.ConfigError, match=key):
        aekit.create_model(name, input_shape=SHAPE, **{key: value})


def test_inherits_dense_keys():
    model = aekit.create_model("sparse-kl", input_shape=SHAPE, hidden=(32,), code_size=8)
    assert model.encode(torch.rand(3, *SHAPE)).shape == (3, 8)


# --- sparse-l1 ----------------------------------------------------------------------------------


def test_l1_term_is_weight_times_batch_mean_of_summed_abs_code(real_batch):
    model = aekit.create_model("sparse-l1", input_shape=SHAPE, code_size=8, code_activation="linear", l1_weight=0.3)
    x = real_batch[:5]
    out = model(x)
    expected = 0.3 * out.z.abs().sum(dim=1).mean()
    terms = model.loss(x, out)
    assert torch.allclose(terms["code_l1"], expected)
    assert torch.allclose(terms["loss"], terms["recon"] + expected)

    plain = aekit.create_model("sparse-l1", input_shape=SHAPE, code_size=8, l1_weight=0.0)
    assert "code_l1" not in plain.loss(x, plain(x))


def test_l1_penalty_makes_codes_smaller_on_real_digits(mnist_mini):
    x, held_out = mnist_mini.x[:1024], mnist_mini.x[9000:9500]
    mean_abs = {}
    for weight in (0.0, 0.5):
        torch.manual_seed(0)  # the same initial weights for both nets
        model = aekit.create_model("sparse-l1", input_shape=SHAPE, code_size=32, l1_weight=weight)
        train_on_digits(model, x, epochs=6, lr=3e-3)
        with torch.no_grad():
            mean_abs[weight] = model.encode(held_out).abs().mean().item()
    assert mean_abs[0.5] < 0.6 * mean_abs[0.0], mean_abs


# --- sparse-kl ----------------------------------------------------------------------------------


def test_kl_bernoulli_values():
    rho_hat = torch.tensor([0.05, 0.2, 0.5])
    kl = kl_bernoulli(0.05, rho_hat)
    assert kl[0].item() == pytest.approx(0.0, abs=1e-7)
    hand = 0.05 * math.log(0.05 / 0.2) + 0.95 * math.log(0.95 / 0.8)
    assert kl[1].item() == pytest.approx(hand, rel=1e-5)
    assert kl[2] > kl[1] > 0


def test_kl_term_is_beta_times_summed_kl_of_batch_mean(real_batch):
    model = aekit.create_model("sparse-kl", input_shape=SHAPE, code_size=16, sparsity_target=0.1, sparsity_weight=2.5)
    x = real_batch[:8]
    out = model(x)
    rho_hat = out.z.mean(dim=0)
    expected = 2.5 * (0.1 * torch.log(0.1 / rho_hat) + 0.9 * torch.log(0.9 / (1 - rho_hat))).sum()
    terms = model.loss(x, out)
    assert torch.allclose(terms["sparsity_kl"], expected, rtol=1e-5)
    assert torch.allclose(terms["loss"], terms["recon"] + terms["sparsity_kl"])


def test_running_average_arithmetic_on_a_hand_made_case():
    model = aekit.create_model("sparse-kl", input_shape=(4,), code_size=2, sparsity_momentum=0.75).train()
    z1 = torch.tensor([[0.2, 0.4], [0.4, 0.8]])  # batch mean (0.3, 0.6)
    first = model.mean_activation(z1)
    assert torch.allclose(first, torch.tensor([0.3, 0.6]))  # the first batch starts the average
    assert torch.allclose(model.running_activation, torch.tensor([0.3, 0.6]))

    z2 = torch.tensor([[0.1, 0.1], [0.1, 0.3]], requires_grad=True)  # batch mean (0.1, 0.2)
    second = model.mean_activation(z2)
    assert torch.allclose(second, torch.tensor([0.75 * 0.3 + 0.25 * 0.1, 0.75 * 0.6 + 0.25 * 0.2]))
    assert torch.allclose(model.running_activation, second.detach())
    assert not model.running_activation.requires_grad
    second.sum().backward()  # the gradient reaches this batch through (1 - lam) / batch size only
    assert torch.allclose(z2.grad, torch.full((2, 2), 0.25 / 2))

    z3 = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    third = model.mean_activation(z3)
    assert torch.allclose(third, torch.tensor([0.75 * 0.25 + 0.0, 0.75 * 0.5 + 0.25 * 1.0]))
    assert model.num_batches_tracked.item() == 3


def test_no_momentum_uses_the_batch_mean():
    model = aekit.create_model("sparse-kl", input_shape=(4,), code_size=2).train()
    model.mean_activation(torch.tensor([[0.9, 0.9]]))
    assert torch.allclose(model.mean_activation(torch.tensor([[0.1, 0.3]])), torch.tensor([0.1, 0.3]))


def test_eval_leaves_the_running_average_alone(real_batch):
    model = aekit.create_model("sparse-kl", input_shape=SHAPE, code_size=16, sparsity_momentum=0.9)
    model.train()
    model(real_batch[:32])
    before = model.running_activation.clone()
    model.eval()
    with torch.no_grad():
        out = model(real_batch[32:64])
    assert torch.equal(model.running_activation, before)
    assert model.num_batches_tracked.item() == 1
    assert torch.allclose(out.extras["rho_hat"], out.z.mean(dim=0))  # eval: this batch alone


def test_running_average_is_saved_with_the_model(real_batch, tmp_path):
    model = aekit.create_model("sparse-kl", input_shape=SHAPE, code_size=16, sparsity_momentum=0.5)
    model.train()
    model(real_batch[:32])
    loaded = aekit.load_model(aekit.save_model(model, tmp_path / "m.safetensors"))
    assert torch.equal(loaded.running_activation, model.running_activation)
    assert loaded.num_batches_tracked.item() == 1


def test_kl_penalty_brings_mean_activation_to_target_on_real_digits(mnist_mini):
    x, held_out = mnist_mini.x[:1024], mnist_mini.x[9000:9500]
    rho = 0.05
    mean_act = {}
    for beta in (0.0, 20.0):
        torch.manual_seed(0)
        # squared error as in UFLDL: with BCE's larger gradients the same beta settles further from rho
        model = aekit.create_model(
            "sparse-kl", input_shape=SHAPE, code_size=64, recon_loss="mse",
            sparsity_target=rho, sparsity_weight=beta,
        )
        train_on_digits(model, x, epochs=12)
        with torch.no_grad():
            mean_act[beta] = model.encode(held_out).mean().item()
    assert abs(mean_act[20.0] - rho) < 0.02, mean_act
    assert mean_act[0.0] > 0.3, mean_act
