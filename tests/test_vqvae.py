"""The VQ-VAE: codes are codebook entries, straight-through gradients, the EMA codebook, dead-code
restarts and the Markov prior over indices."""

from __future__ import annotations

import pytest
import torch

import aekit

SHAPE = (1, 28, 28)


def small(**config):
    values = {"hidden": (64,), "positions": 4, "embedding_dim": 3, "codebook_size": 8, **config}
    return aekit.create_model("vq-vae", input_shape=SHAPE, **values)


def test_codes_are_codebook_entries(real_batch):
    model = small().eval()
    x = real_batch[:32]
    z = model(x).z.reshape(32, 4, 3)
    on_an_entry = (z[:, :, None, :] == model.codebook).all(dim=-1).any(dim=-1)  # (32, 4), exact equality
    assert on_an_entry.all()
    assert torch.equal(z, model.codebook[model.code_indices(x)])
    torch.testing.assert_close(model.encode(x), model(x).z, rtol=0, atol=1e-6)  # straight-through: up to rounding


def test_straight_through_gradient_reaches_the_encoder(real_batch):
    model = small()
    x = real_batch[:16]
    out = model(x)
    model.reconstruction_loss(x, out).backward()  # no commitment term: only the decoder's gradient
    grads = [p.grad for p in model.encoder.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)
    assert not any(b.requires_grad for b in model.buffers())  # the codebook is not the optimiser's


def test_ema_with_no_memory_moves_each_used_entry_to_its_assigned_mean(real_batch):
    model = small(ema_decay=0.0, restart_below=0.0)
    x = real_batch[:64]
    z_e = model.encode_continuous(x).detach()
    indices = model.nearest(z_e)
    model(x)  # a training forward pass with gradients on: one EMA step
    for k in indices.unique():
        torch.testing.assert_close(model.codebook[k], z_e[indices == k].mean(dim=0))


def test_a_training_step_decodes_the_entries_each_vector_was_assigned_before_the_update(real_batch):
    """z_q was read from the codebook after this step's EMA update: not the entry a vector was assigned to, and
    where that entry restarted in the same step, another sample's encoder output (as in Sonnet, the update
    comes after the lookup)."""
    model = small(ema_decay=0.0, restart_below=0.0)
    x = real_batch[:64]
    before = model.codebook.clone()
    out = model(x)  # training, with gradients: the codebook moves to the assigned means
    assert not torch.equal(model.codebook, before)
    assert torch.equal(out.z.reshape(64, 4, 3), before[out.extras["indices"]])


def test_ema_is_frozen_in_eval_and_without_gradients(real_batch):
    model = small()
    before = model.codebook.clone()
    with torch.no_grad():
        model(real_batch[:16])
    model.eval()
    model(real_batch[:16])
    assert torch.equal(model.codebook, before)


def test_dead_entries_restart_at_encoder_outputs(real_batch):
    model = small(ema_decay=0.5, restart_below=0.3)
    x = real_batch[:64]
    with torch.no_grad():
        model.codebook[0] = 1e6  # far from every encoder output: never chosen
        model.ema_sum[0] = model.codebook[0]
    model.train()
    for _ in range(2):  # its count halves each step: 1 -> 0.5 -> 0.25 < 0.3, then it restarts
        model(x)
    assert int(model.restarts) >= 1
    z_e = model.encode_continuous(x).detach().reshape(-1, 3)
    assert torch.cdist(model.codebook[:1], z_e).min() < 1e-5  # restarted onto one of the batch's vectors


def test_training_lowers_the_loss_and_restarts_raise_codebook_use(mnist_mini):
    x = mnist_mini.x[:1024]
    perplexity = {}
    for restart_below in (1.0, 0.0):
        torch.manual_seed(0)
        model = aekit.create_model(
            "vq-vae", input_shape=SHAPE, hidden=(128,), positions=8, embedding_dim=4, codebook_size=32,
            restart_below=restart_below,
        )
        history = aekit.fit(model, x, epochs=3, batch_size=64, lr=2e-3, progress=False)
        assert history["train_recon"][-1] < 0.6 * history["train_recon"][0]
        perplexity[restart_below] = history["train_perplexity"][-1]
    assert perplexity[1.0] > 12 and perplexity[1.0] > 1.5 * perplexity[0.0], perplexity


def test_markov_prior_matches_the_training_codes(real_batch):
    model = small().eval()
    unfitted = model.sample_indices(4000, generator=torch.Generator().manual_seed(0))
    freq = torch.bincount(unfitted.flatten(), minlength=8).float() / unfitted.numel()
    assert (freq - 1 / 8).abs().max() < 0.02  # uniform before fit_prior
    with pytest.raises(aekit.ConfigError, match="prior over code indices is not fitted yet; call model.fit_prior"):
        model.sample(2)  # uniform codes decode to noise that would pass for the model's samples
    x = real_batch[:512]
    assert model.fit_prior(x) is model
    codes = model.code_indices(x)
    drawn = model.sample_indices(4000, generator=torch.Generator().manual_seed(0))
    assert drawn.shape == (4000, 4)
    for j in range(4):  # each position's index frequencies follow the data's (total variation)
        data_freq = torch.bincount(codes[:, j], minlength=8).float() / len(codes)
        drawn_freq = torch.bincount(drawn[:, j], minlength=8).float() / len(drawn)
        assert 0.5 * (data_freq - drawn_freq).abs().sum() < 0.06
    samples = model.sample(5, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (5, *SHAPE) and 0 <= samples.min() and samples.max() <= 1
    loaded_counts = model.state_dict()["prior_next"]  # the prior is saved with the model
    assert loaded_counts.sum() == 3 * 512


@pytest.mark.parametrize(("values", "key"), [({"codebook_size": 0}, "codebook_size"), ({"ema_decay": 1.0}, "ema_decay")])
def test_bad_config_names_the_key(values, key):
    with pytest.raises(aekit.ConfigError, match=key):
        small(**values)


def test_an_interrupted_run_resumes_exactly(real_batch, tmp_path):
    x = real_batch[:128]
    options = {"batch_size": 32, "lr": 1e-3, "progress": False}
    torch.manual_seed(0)
    whole = small(codebook_size=32)
    aekit.fit(whole, x, epochs=2, **options)
    torch.manual_seed(0)
    part = small(codebook_size=32)
    aekit.fit(part, x, epochs=1, run_dir=tmp_path / "run", **options)
    torch.manual_seed(99)
    resumed = small(codebook_size=32)
    aekit.fit(resumed, x, epochs=2, run_dir=tmp_path / "run", resume=True, **options)
    assert int(whole.restarts) > 0  # the restarts draw random numbers: the RNG state is resumed too
    for (key, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), key


def test_its_metrics_say_why_there_is_no_pca_line(real_batch):
    from aekit.apps.run import format_metrics, test_metrics
    from aekit.data import Dataset

    model = aekit.create_model("vq-vae", input_shape=(1, 28, 28), hidden=(32,)).eval()
    data = Dataset(real_batch[:40], None, "digits")
    printed = format_metrics({"split": "test", **test_metrics(model, data, data)})
    assert "no PCA comparison: model 'vq-vae' has no code_size" in printed and "PCA-" not in printed


def test_a_second_fit_continues_with_the_trained_codebook(real_batch):
    """A plain-PyTorch trial: aekit.fit of a vq-vae trained before (in a loop of one's own, or by an earlier fit)
    started its codebook again at encoder outputs, throwing the trained one and its moving averages away."""
    model = small()
    start = model.codebook.clone()
    model.init_from_data(real_batch[:64])  # what fit calls before a new run's first step
    assert not torch.equal(model.codebook, start)  # a new model starts at its encoder's outputs, as before
    aekit.fit(model, real_batch[:64], epochs=1, batch_size=32, progress=False)
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    model.init_from_data(real_batch[:64])
    for key, value in model.state_dict().items():
        assert torch.equal(value, trained[key]), key


def test_codes_are_picked_in_full_precision_under_autocast(real_batch):
    """A review of the GPU paths: under amp the distances to the codebook were computed in half precision, and
    1.5% of codes were not the nearest entry (the EMA update and the commitment term took them)."""
    model = small(codebook_size=64)
    model.init_from_data(real_batch[:256])
    x = real_batch[:256]
    with torch.no_grad():
        z_e = model.encode_continuous(x)
        exact = model.nearest(z_e)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert torch.equal(model.nearest(z_e), exact)
