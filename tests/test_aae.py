"""The adversarial autoencoder and the trainer's alternating optimisers (Autoencoder.optimizer_groups)."""

from __future__ import annotations

import pytest
import torch

import aekit
from aekit.models.wae import imq_mmd
from aekit.training import checkpoint as ckpt
from aekit.training.loop import TrainConfig, Trainer

SHAPE = (1, 28, 28)


def small(**config):
    return aekit.create_model("aae", input_shape=SHAPE, hidden=(32,), code_size=2, discriminator_hidden=(16,), **config)


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def changed(before, module):
    return {k for k, v in module.named_parameters() if not torch.equal(before[k], v)}


def test_each_optimiser_steps_its_own_parameters_only(real_batch):
    model = small()
    trainer = Trainer(model, TrainConfig(lr=1e-2), callbacks=[], run_dir=None)
    assert list(trainer.optimizers) == ["loss", "discriminator_loss"]
    x = real_batch[:32].to(trainer.device)  # the trainer moved the model there (CUDA when present)
    discriminator = {f"discriminator.{k}" for k, _ in model.discriminator.named_parameters()}
    everything = {k for k, _ in model.named_parameters()}

    before = snapshot(model)
    trainer.optimizer_step("discriminator_loss", trainer.losses(x, None)["discriminator_loss"])
    assert changed(before, model) == discriminator

    before = snapshot(model)
    trainer.optimizer_step("loss", trainer.losses(x, None)["loss"])
    assert changed(before, model) == everything - discriminator  # the fool term's gradient on D is dropped


def test_fit_alternates_and_logs_both_losses(mnist_mini):
    x = mnist_mini.x[:2048]
    distances = {}
    for weight in (1.0, 0.0):
        torch.manual_seed(0)
        model = aekit.create_model("aae", input_shape=SHAPE, hidden=(128,), code_size=4, adversarial_weight=weight)
        history = aekit.fit(model, x, epochs=4, batch_size=64, lr=2e-3, progress=False)
        assert {"train_loss", "train_recon", "train_adversarial", "train_discriminator_loss"} <= set(history)
        assert history["train_recon"][-1] < 0.6 * history["train_recon"][0]
        z = torch.from_numpy(model.encode_array(x))
        distances[weight] = imq_mmd(z, torch.randn_like(z), base_scale=2.0 * 4).item()
    assert distances[1.0] < 0.5 * distances[0.0], distances  # the adversary pulls the codes to N(0, I)


def test_an_interrupted_run_resumes_exactly_with_both_optimisers(real_batch, tmp_path):
    x = real_batch[:64]
    options = {"batch_size": 16, "lr": 1e-3, "progress": False}
    torch.manual_seed(0)
    whole = small()
    aekit.fit(whole, x, epochs=2, **options)
    torch.manual_seed(0)
    part = small()
    aekit.fit(part, x, epochs=1, run_dir=tmp_path / "run", **options)
    tensors, meta = ckpt.read(tmp_path / "run" / ckpt.CHECKPOINT_FILE)
    assert "discriminator_loss" in meta["more_optimizers"]
    assert any(k.startswith("optim:discriminator_loss.") for k in tensors)
    torch.manual_seed(7)
    resumed = small()
    aekit.fit(resumed, x, epochs=2, run_dir=tmp_path / "run", resume=True, **options)
    for (key, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), key


def test_optimizer_groups_must_hold_every_parameter_once(real_batch, monkeypatch):
    model = small()
    monkeypatch.setattr(model, "optimizer_groups", lambda: {"loss": list(model.encoder.parameters())})
    with pytest.raises(aekit.ConfigError, match="every parameter once"):
        aekit.fit(model, real_batch[:8], epochs=1, progress=False)


def test_samples_decode_prior_draws():
    model = small(prior_std=1.5).eval()
    samples = model.sample(4, generator=torch.Generator().manual_seed(0))
    expected = model.decode(1.5 * torch.randn(4, 2, generator=torch.Generator().manual_seed(0)))
    torch.testing.assert_close(samples, expected)


def test_the_weight_penalty_is_of_the_weights_its_optimiser_trains(real_batch):
    """weight_l2 summed the discriminator's weights into the autoencoder's loss (90 % of the term), which no
    optimiser minimised: the discriminator was not regularised, and the logged loss held a term of it."""
    model = small(weight_l2=1e-2)
    own = [m.weight for name, m in model.named_modules()
           if isinstance(m, torch.nn.Linear) and not name.startswith("discriminator")]
    term = model.loss(real_batch, model(real_batch))["weight_l2"]
    assert term.item() == pytest.approx(1e-2 * sum((w**2).sum() for w in own).item(), rel=1e-6)
    assert not {id(w) for w in model.penalised_weights()} & {id(p) for p in model.discriminator.parameters()}
