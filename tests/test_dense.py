"""Dense autoencoders: per-layer batch norm / dropout / activations, the CIFAR config, L2 options."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import aekit
from aekit.config import EXAMPLES, load_file
from aekit.models.dense import mlp

CONFIGS = Path(EXAMPLES)


def layer_groups(seq: nn.Sequential) -> list[dict]:
    """Each Linear of a flat Sequential with the modules after it, as a plain summary."""
    groups: list[dict] = []
    for m in seq:
        if isinstance(m, nn.Linear):
            groups.append({"in": m.in_features, "out": m.out_features, "bn": False, "act": "linear", "dropout": 0.0})
        elif isinstance(m, nn.BatchNorm1d):
            assert groups[-1]["act"] == "linear", "batch norm must come before the activation"
            groups[-1]["bn"] = True
        elif isinstance(m, nn.Dropout):
            groups[-1]["dropout"] = m.p
        else:
            groups[-1]["act"] = type(m).__name__.lower()
    return groups


def test_eval_is_deterministic_train_is_not_with_dropout(real_batch):
    model = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=(64, 32), code_size=8, dropout=0.3)
    x = real_batch[:32]
    with torch.no_grad():
        model.eval()
        assert torch.equal(model(x).x_hat, model(x).x_hat)
        model.train()
        assert not torch.equal(model(x).x_hat, model(x).x_hat)


def test_outputs_in_batches_are_of_eval_mode_and_leave_the_mode_as_it_was(real_batch):
    """A mutation trial: map_batches without its eval mode (dropout and batch statistics in encode_array,
    reconstruct_array, evaluate's errors and the sklearn transform) passed every test."""
    import numpy as np

    from aekit.apps.run import squared_error_per_sample
    from aekit.apps.sklearn import AutoencoderTransformer

    model = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=(32,), code_size=4, dropout=0.5, batch_norm=True)
    x = real_batch[:40]
    model.train()
    with torch.no_grad():
        norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
        for m in norms:  # running statistics of their own, so eval mode's outputs differ from a batch's
            m.running_mean.uniform_(-1, 1)
    for fn in (model.encode_array, model.reconstruct_array, lambda v: squared_error_per_sample(model, v)):
        first = fn(x)
        assert model.training and np.array_equal(first, fn(x)), fn
        model.eval()
        assert np.array_equal(first, fn(x)), fn
        model.train()
    flat = x.reshape(40, -1).numpy()
    est = AutoencoderTransformer(model="dense", model_params={"hidden": [16], "code_size": 3, "dropout": 0.5},
                                 epochs=1, random_state=0).fit(flat)
    codes = est.transform(flat)
    est.model_.train()
    assert np.array_equal(codes, est.transform(flat)) and est.model_.training


def test_no_dropout_means_train_is_deterministic(real_batch):
    model = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=(64, 32), code_size=8).train()
    with torch.no_grad():
        assert torch.equal(model(real_batch[:32]).x_hat, model(real_batch[:32]).x_hat)


def test_batch_norm_running_stats_update_only_in_training(real_batch):
    model = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=(64, 32), code_size=8, batch_norm=True)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    assert [n.num_features for n in norms] == [64, 32, 32, 64]  # encoder hidden, then mirrored decoder
    x = real_batch[:64]

    def stats():
        return [b.clone() for n in norms for b in (n.running_mean, n.running_var)]

    before = stats()
    model.eval()
    with torch.no_grad():
        model(x)
    assert all(torch.equal(a, b) for a, b in zip(before, stats()))
    model.train()
    model(x)
    assert all(not torch.equal(a, b) for a, b in zip(before, stats()))
    assert all(int(n.num_batches_tracked) == 1 for n in norms)


def test_cifar_deep_config_structure():
    cfg = load_file(CONFIGS / "cifar-deep.yaml")
    assert cfg["data"]["name"] == "cifar10"
    model_cfg = dict(cfg["model"])
    model = aekit.create_model(model_cfg.pop("name"), input_shape=(3, 32, 32), **model_cfg)
    assert layer_groups(model.encoder) == [
        {"in": 3072, "out": 2048, "bn": False, "act": "relu", "dropout": 0.0},
        {"in": 2048, "out": 1024, "bn": True, "act": "relu", "dropout": 0.2},
        {"in": 1024, "out": 512, "bn": False, "act": "relu", "dropout": 0.0},
        {"in": 512, "out": 256, "bn": True, "act": "relu", "dropout": 0.2},
        {"in": 256, "out": 128, "bn": False, "act": "relu", "dropout": 0.2},
        {"in": 128, "out": 64, "bn": True, "act": "tanh", "dropout": 0.0},
    ]
    # the decoder mirrors: each hidden layer has the options of the encoder layer of its width
    assert layer_groups(model.decoder) == [
        {"in": 64, "out": 128, "bn": False, "act": "relu", "dropout": 0.2},
        {"in": 128, "out": 256, "bn": True, "act": "relu", "dropout": 0.2},
        {"in": 256, "out": 512, "bn": False, "act": "relu", "dropout": 0.0},
        {"in": 512, "out": 1024, "bn": True, "act": "relu", "dropout": 0.2},
        {"in": 1024, "out": 2048, "bn": False, "act": "relu", "dropout": 0.0},
        {"in": 2048, "out": 3072, "bn": False, "act": "linear", "dropout": 0.0},  # logits
    ]
    model.eval()
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        out = model(x)
    assert out.x_hat.shape == x.shape and out.z.shape == (4, 64)
    assert out.x_hat.min() >= 0 and out.x_hat.max() <= 1  # sigmoid output
    assert out.z.abs().max() <= 1  # tanh code


def test_explicit_decoder_options_and_per_layer_activations():
    model = aekit.create_model(
        "dense", input_shape=(20,), hidden=(16, 12), code_size=4,
        hidden_activations=["tanh", "elu"], decoder_hidden=(8,),
        decoder_activations=["sigmoid"], decoder_batch_norm=True, decoder_dropout=[0.5],
    )
    assert [g["act"] for g in layer_groups(model.encoder)] == ["tanh", "elu", "linear"]
    assert layer_groups(model.decoder) == [
        {"in": 4, "out": 8, "bn": True, "act": "sigmoid", "dropout": 0.5},
        {"in": 8, "out": 20, "bn": False, "act": "linear", "dropout": 0.0},
    ]
    mirrored = aekit.create_model("dense", input_shape=(20,), hidden=(16, 12), code_size=4,
                                  hidden_activations=["tanh", "elu"])
    assert [g["act"] for g in layer_groups(mirrored.decoder)] == ["elu", "tanh", "linear"]


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"batch_norm": [True, False]}, r"batch_norm: needs 4 entries \(one per encoder hidden layer, then the code layer\), got 2"),
        ({"dropout": [0.1, 0.1, 0.1, 0.1, 0.1]}, r"dropout: needs 4 entries .*, got 5"),
        ({"dropout": 1.0}, r"dropout: probabilities must be in \[0, 1\)"),
        ({"dropout": [0.0, -0.1, 0.0, 0.0]}, r"dropout: probabilities must be in \[0, 1\)"),
        ({"decoder_dropout": [0.1]}, r"decoder_dropout: needs 3 entries \(one per decoder hidden layer\)"),
        ({"hidden_activations": ["tanh"]}, r"hidden_activations: needs 3 entries \(one per hidden layer\), got 1"),
        ({"hidden_activations": ["tanh", "relu", "swish"]}, r"hidden_activations\[2\]: 'swish' is not allowed"),
        ({"batch_norm": [True, False, True, False], "decoder_hidden": (10,)},
         r"decoder_batch_norm: cannot mirror the per-layer batch_norm .* give decoder_batch_norm explicitly \(1 entries\)"),
        ({"batch_norm": "yes"}, r"batch_norm: 'yes' must be bool or a list of bool"),
    ],
)
def test_bad_per_layer_options_name_key_and_length(options, pattern):
    with pytest.raises(aekit.ConfigError, match=pattern):
        aekit.create_model("dense", input_shape=(784,), hidden=(100, 50, 25), code_size=10, **options)


def test_defaults_keep_the_plain_layout():
    """No per-layer options: the same modules (and state-dict keys) as before they existed."""
    model = aekit.create_model("dense", input_shape=(784,))
    assert [type(m).__name__ for m in model.encoder] == ["Linear", "ReLU"] * 3 + ["Linear"]
    assert "encoder.6.weight" in model.state_dict() and "decoder.6.weight" in model.state_dict()
    seq = mlp([10, 6, 3], "relu", last_act="sigmoid")
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear", "Sigmoid"]


def test_weight_l2_is_sum_of_squared_weight_matrices(real_batch):
    model = aekit.create_model(
        "dense", input_shape=(1, 28, 28), hidden=(32, 16), code_size=4, weight_l2=0.01, batch_norm=True
    )
    for p in model.parameters():  # non-trivial biases and norm scales, which must not count
        nn.init.uniform_(p, -0.5, 0.5)
    x = real_batch[:8]
    term = model.loss(x, model(x))["weight_l2"]
    matrices = [p for name, p in model.named_parameters() if p.ndim == 2]
    assert len(matrices) == 6
    expected = 0.01 * sum(float((w.detach().double() ** 2).sum()) for w in matrices)
    everything = 0.01 * sum(float((p.detach().double() ** 2).sum()) for p in model.parameters())
    assert float(term.detach()) == pytest.approx(expected, rel=1e-5)
    assert everything > expected * 1.01  # biases/BN scales are large enough that counting them would show
    plain = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=(32, 16), code_size=4)
    assert "weight_l2" not in plain.loss(x, plain(x))


def mean_code_sq(model, x) -> float:
    model.eval()
    with torch.no_grad():
        return float((model.encode(x) ** 2).sum(dim=1).mean())


def test_code_l2_keeps_codes_nearer_zero(mnist_mini):
    x, held_out = mnist_mini.x[:512], mnist_mini.x[2000:2512]
    sizes = []
    for code_l2 in (0.0, 0.3):
        torch.manual_seed(0)  # the same initial weights for both
        model = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=(64,), code_size=8, code_l2=code_l2)
        history = aekit.fit(model, x, epochs=3, batch_size=64, lr=3e-3, progress=False)
        assert history["train_recon"][-1] < history["train_recon"][0]
        sizes.append(mean_code_sq(model, held_out))
    without, with_l2 = sizes
    assert with_l2 < 0.5 * without, f"mean ||z||^2 {without:.3f} without code_l2, {with_l2:.3f} with"
