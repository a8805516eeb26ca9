"""The convolutional autoencoder: shapes of every decoder, unpooling with switches, size errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import aekit
from aekit.models.conv import Unpool

DECODERS = ["upsample", "transpose", "unpool"]

# a hand-made 4x4 image with one clear max in each 2x2 window: 5, 8, 9 and 3
IMAGE = torch.tensor(
    [
        [1.0, 5.0, 2.0, 0.0],
        [3.0, 4.0, 8.0, 7.0],
        [9.0, 0.0, 1.0, 1.5],
        [2.0, 6.0, 3.0, 2.0],
    ]
).reshape(1, 1, 4, 4)
AT_MAX = torch.tensor(
    [
        [0.0, 5.0, 0.0, 0.0],
        [0.0, 0.0, 8.0, 0.0],
        [9.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 3.0, 0.0],
    ]
).reshape(1, 1, 4, 4)
AT_TOP_LEFT = torch.tensor(
    [
        [5.0, 0.0, 8.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
        [9.0, 0.0, 3.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
    ]
).reshape(1, 1, 4, 4)


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
@pytest.mark.parametrize("code_size", [None, 12])
def test_output_shape_equals_input(decoder, shape, code_size):
    model = aekit.create_model(
        "conv", input_shape=shape, channels=(4, 8), decoder=decoder, code_size=code_size, batch_norm=True
    )
    x = torch.rand(3, *shape)
    out = model(x)
    assert out.x_hat.shape == x.shape and out.logits.shape == x.shape
    assert out.x_hat.min() >= 0 and out.x_hat.max() <= 1
    expected_z = (3, code_size) if code_size else (3, 8, shape[1] // 4, shape[2] // 4)
    assert out.z.shape == expected_z
    assert model.code_size == (code_size or 8 * (shape[1] // 4) * (shape[2] // 4))
    assert model.decode(out.z).shape == x.shape
    assert model.decode(out.z.flatten(1)).shape == x.shape  # a flattened feature-map code works too
    assert model(x.flatten(1)).x_hat.shape == x.shape  # flat samples of the right size are reshaped


def test_unpool_module_puts_values_at_recorded_max():
    pooled, indices = F.max_pool2d(IMAGE, 2, return_indices=True)
    assert torch.equal(Unpool()(pooled, indices), AT_MAX)
    assert torch.equal(Unpool()(pooled), AT_TOP_LEFT)  # no indices: fixed top-left switches


def identity_unpool_model():
    """One 1x1 conv of weight 1 down and up, linear everywhere: the network is pool then unpool."""
    model = aekit.create_model(
        "conv", input_shape=(1, 4, 4), channels=(1,), kernel_size=1, activation="linear",
        decoder="unpool", output_activation="linear", recon_loss="mse",
    )
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.ones_like(p) if p.ndim == 4 else torch.zeros_like(p))
    return model.eval()


def test_unpool_decoder_uses_the_encoders_max_positions():
    model = identity_unpool_model()
    with torch.no_grad():
        out = model(IMAGE)
        assert torch.equal(out.z, torch.tensor([[[[5.0, 8.0], [9.0, 3.0]]]]))
        assert torch.equal(out.x_hat, AT_MAX)  # exactly the max values where they were, zeros elsewhere
        (indices,) = out.extras["pool_indices"]
        assert torch.equal(model.decode(out.z, pool_indices=[indices]), AT_MAX)
        assert torch.equal(model.decode(out.z), AT_TOP_LEFT)  # decode(z) alone: fixed switches


def test_unpool_indices_follow_each_sample():
    model = identity_unpool_model()
    flipped = IMAGE.flip(-1)
    with torch.no_grad():
        out = model(torch.cat([IMAGE, flipped]))
    assert torch.equal(out.x_hat, torch.cat([AT_MAX, AT_MAX.flip(-1)]))


@pytest.mark.parametrize("decoder", DECODERS)
def test_each_decoder_learns_real_digits(decoder, real_batch):
    model = aekit.create_model("conv", input_shape=(1, 28, 28), channels=(8, 16), decoder=decoder)
    x = real_batch[:128]
    model.eval()
    with torch.no_grad():
        before = model.loss(x, model(x))["recon"].item()
    aekit.fit(model, x, epochs=5, batch_size=16, lr=3e-3, progress=False)
    model.eval()
    with torch.no_grad():
        after = model.loss(x, model(x))["recon"].item()
    assert after < 0.6 * before, f"{decoder}: recon {before:.1f} -> {after:.1f}"


def test_size_the_pooling_cannot_divide_names_input_shape_layers_and_sizes():
    with pytest.raises(aekit.ConfigError, match=r"input_shape.*\(1, 30, 30\).*2 pooling layers.*multiples of 4"):
        aekit.create_model("conv", input_shape=(1, 30, 30), channels=(8, 16))
    with pytest.raises(aekit.ConfigError, match=r"3 pooling layers.*multiples of 8 \(28: e\.g\. 24 or 32\)"):
        aekit.create_model("conv", input_shape=(1, 28, 28), channels=(8, 16, 32))
    with pytest.raises(aekit.ConfigError, match=r"multiples of 4 \(17: e\.g\. 16 or 20\)"):  # the side that fails
        aekit.create_model("conv", input_shape=(3, 20, 17), channels=(8, 16))
    assert aekit.create_model("conv", input_shape=(1, 28, 28), channels=(8,)).code_size == 8 * 14 * 14


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"input_shape": (784,)}, "input_shape"),
        ({"kernel_size": 4}, "kernel_size"),
        ({"channels": ()}, "channels"),
        ({"channels": (8, 0)}, "channels"),
        ({"code_size": 0}, "code_size"),
        ({"decoder": "deconv"}, "decoder"),
    ],
)
def test_bad_config_names_the_key(values, key):
    with pytest.raises(aekit.ConfigError, match=key):
        aekit.create_model("conv", **{"input_shape": (1, 28, 28), **values})


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("shape", [(3, 64), (1, 3, 64)])
def test_a_signal_is_convolved_along_time(decoder, shape):
    """Signals (C, T), or stored (N, C, T) and read as grey C x T images, were refused ("height must be a
    multiple of 4 (3)"): 1-D convolutions over time take them, the rows as channels."""
    model = aekit.create_model("conv", input_shape=shape, channels=(4, 8), decoder=decoder, batch_norm=True,
                               **({"dims": 1} if len(shape) == 3 else {}))
    assert model.config.conv_shape == (3, 64) and model.config.feature_shape == (8, 16)
    assert not any(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    x = torch.rand(5, *shape)
    out = model(x)
    assert out.x_hat.shape == x.shape and out.z.shape == (5, 8, 16) and model.decode(out.z).shape == x.shape


def test_a_signal_unpools_at_its_maxima_and_bad_lengths_are_named():
    signal = torch.tensor([[[1.0, 5.0, 7.0, 2.0, 0.0, 3.0]]])
    pooled, indices = F.max_pool1d(signal, 2, return_indices=True)
    assert torch.equal(Unpool()(pooled, indices), torch.tensor([[[0.0, 5.0, 7.0, 0.0, 0.0, 3.0]]]))
    assert torch.equal(Unpool()(pooled), torch.tensor([[[5.0, 0.0, 7.0, 0.0, 3.0, 0.0]]]))
    assert torch.equal(Unpool()(*F.max_pool2d(IMAGE, 2, return_indices=True)), F.max_unpool2d(
        *F.max_pool2d(IMAGE, 2, return_indices=True), 2))  # the scatter is torch's unpooling
    with pytest.raises(aekit.ConfigError, match=r"\(3, 66\) cannot go through 2 pooling layers .*its length must be a "
                                                r"multiple of 4 \(66: e\.g\. 64 or 68\); use fewer channels entries or cut"):
        aekit.create_model("conv", input_shape=(1, 3, 66), channels=(8, 16), dims=1)
    with pytest.raises(aekit.ConfigError, match=r"height and width must be multiples of 4 \(3: .*resize the images \(a "
                                                r"signal's C x T image: dims=1 convolves it along time\)"):
        aekit.create_model("conv", input_shape=(1, 3, 64), channels=(8, 16))  # 2-d unless told: old models load as saved
    for shape, dims in (((3, 64), 2), ((3, 8, 64), 1)):
        with pytest.raises(aekit.ConfigError, match=r"^model.dims: "):
            aekit.create_model("conv", input_shape=shape, dims=dims)
    with pytest.raises(aekit.ConfigError, match=r"signal of one channel is shaped \(1, time\)"):
        aekit.create_model("conv", input_shape=(64,))


def test_a_conv_run_on_stored_signals_trains_and_shows_its_filters(tmp_path):
    import numpy as np

    from aekit.analysis import features
    from aekit.apps.cli import main

    t = np.linspace(0, 1, 64, dtype=np.float32)
    rng = np.random.default_rng(0)
    freq = rng.uniform(2, 6, (300, 1, 1)).astype(np.float32)
    x = np.concatenate([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)  # (300, 2, 64)
    np.save(tmp_path / "signals.npy", x)
    assert main(["train", f"data.name={tmp_path / 'signals.npy'}", "model.name=conv", "model.channels=[8,16]",
                 "model.recon_loss=mse", "train.epochs=10",
                 "train.batch_size=16", "train.lr=0.003", f"output.dir={tmp_path}", "output.name=run", "--quiet"]) == 0
    history = __import__("json").loads((tmp_path / "run" / "history.json").read_text())
    assert history["train_loss"][-1] < 0.7 * history["train_loss"][0]
    model = aekit.load_model(tmp_path / "run" / "model.safetensors")
    assert features.first_layer_weights(model).shape == (8, 2, 3)  # filters, channels, taps
    assert features.unit_activations(model, torch.from_numpy(x[:10])[:, None], layer="down.0").shape == (10, 8)


def test_signal_paths_from_a_sensor_trial(tmp_path, capsys):
    """What a trial with sensor windows met: new windows out of the training range (the anomalies) refused by
    a BCE model's range check; (N, T, C) windows and (N, 20, 64) arrays handled without a word on how; column
    scaling per (channel, step); a 1-d conv's filters drawn as 3x3 pictures."""
    import numpy as np

    from aekit.analysis import features
    from aekit.apps.cli import main

    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 64, dtype=np.float32)
    x = (0.5 + 0.4 * np.sin(2 * np.pi * rng.uniform(2, 5, (300, 3, 1)) * t)).astype(np.float32)  # (300, 3, 64)
    np.save(tmp_path / "train.npy", x)
    run = ["train", f"data.name={tmp_path / 'train.npy'}", "model.name=conv", "model.code_size=4", "train.epochs=1",
           f"output.dir={tmp_path}", "output.name=r"]
    assert main(run) == 0
    out = capsys.readouterr().out
    assert "convolved along time, its 3 rows as channels" in out
    spikes = x[:20].copy()
    spikes[:3, 0, 30:34] += 2.0  # a sensor leaving its range: the anomaly itself
    np.save(tmp_path / "new.npy", spikes)
    assert main(["evaluate", str(tmp_path / "r"), "--data", str(tmp_path / "new.npy"), "--scores",
                 str(tmp_path / "s.csv"), "--nll-samples", "0", "--quality-samples", "0"]) == 0
    out = capsys.readouterr().out
    assert "3 of 20 samples have values outside the training range" in out
    from aekit.apps import run as runs

    metrics = runs.evaluate_run(tmp_path / "r", data=tmp_path / "new.npy", nll_samples=0, quality_samples=0)
    assert not [k for k in metrics if k.endswith(("_loss", "_recon"))]  # BCE of values beyond [0, 1]: no loss
    scores = np.loadtxt(tmp_path / "s.csv", delimiter=",", skiprows=1)
    assert set(np.argsort(-scores[:, 1])[:3]) == {0, 1, 2}  # the spikes score highest
    np.save(tmp_path / "tm.npy", spikes.transpose(0, 2, 1))
    assert main(["evaluate", str(tmp_path / "r"), "--data", str(tmp_path / "tm.npy")]) == 2
    assert "its last two axes swapped: x.swapaxes(-1, -2)" in capsys.readouterr().err
    assert main([*run[:1], f"data.name={tmp_path / 'tm.npy'}", *run[2:4], "output.name=tm"]) == 2
    assert "windows stored time-major, (N, T, C)? x.swapaxes(-1, -2)" in capsys.readouterr().err
    assert main([*run[:-1], "data.scale=column", "output.name=col"]) == 2
    assert "data.scale 'column' scales the columns of a table, and these samples are arrays" in capsys.readouterr().err
    np.save(tmp_path / "wide.npy", rng.random((40, 20, 64), dtype=np.float32))
    assert main(["train", f"data.name={tmp_path / 'wide.npy'}", "model.name=conv", "train.epochs=1",
                 f"output.dir={tmp_path}", "output.name=w"]) == 0
    assert "convolved in 2-d as 20x64 images (model.dims=1 convolves along time" in capsys.readouterr().out
    _, fig = features.plot_first_layer(aekit.load_model(tmp_path / "r"))
    assert not fig.axes[0].images and "0.5 = a weight of 0" in fig._suptitle.get_text()  # (8, 3, 3) filters: curves
