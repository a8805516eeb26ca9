"""The trainer's fast paths: fused optimisers, grouped NaN checks, bf16/fp16 autocast on the CPU,
channels-last convolutions and the torch.compile flag."""

from __future__ import annotations

import pytest
import torch

import aekit
from aekit.training import checkpoint as ckpt
from aekit.training.callbacks import Callback, LambdaCallback
from aekit.training.loop import TrainConfig, make_optimizer


def tiny(seed: int = 0, **overrides):
    torch.manual_seed(seed)
    return aekit.create_model("dense", input_shape=(1, 28, 28), **{"hidden": [32], "code_size": 8, **overrides})


def small_conv(seed: int = 0):
    torch.manual_seed(seed)
    return aekit.create_model("conv", input_shape=(1, 28, 28), channels=(4, 8))


@pytest.mark.parametrize("name", ["adam", "adamw", "adagrad", "sgd", "rmsprop"])
def test_fused_kernels_where_torch_has_them(name):
    opt = make_optimizer(tiny().parameters(), TrainConfig(optimizer=name), device=torch.device("cpu"))
    assert bool(opt.defaults.get("fused")) == (name != "rmsprop")


def test_resume_keeps_this_machines_kernels(real_batch, tmp_path):
    aekit.fit(tiny(), real_batch[:64], epochs=1, run_dir=tmp_path, progress=False)
    tensors, meta = ckpt.read(tmp_path / ckpt.CHECKPOINT_FILE)
    for group in meta["optimizer"]["param_groups"]:  # as written by a machine without fused kernels
        group["fused"] = None
    ckpt.write(tmp_path / ckpt.CHECKPOINT_FILE, tensors, meta)
    seen = []
    cb = LambdaCallback(on_train_begin=lambda t: seen.extend(g["fused"] for g in t.optimizer.param_groups))
    aekit.fit(tiny(), real_batch[:64], epochs=2, run_dir=tmp_path, resume=True, callbacks=[cb], progress=False)
    assert seen and all(f is True for f in seen)


def test_grouped_nan_check_names_the_first_bad_batch(real_batch, tmp_path):
    model = tiny()
    aekit.fit(model, real_batch[:160], epochs=1, batch_size=16, run_dir=tmp_path, progress=False)
    good = (tmp_path / ckpt.CHECKPOINT_FILE).read_bytes()

    class Poison(Callback):  # NaN weights after batch 5 of epoch 2, so batch 6 is the first bad loss
        def on_batch_end(self, trainer, batch, logs):
            if trainer.epoch == 1 and batch == 4:
                with torch.no_grad():
                    next(trainer.model.parameters()).fill_(float("nan"))

    # losses are read back 4 at a time (batches 1-4, 5-8, ...): the check at batch 8 finds batch 6
    with pytest.raises(aekit.NonFiniteLossError, match=r"epoch 2, batch 6;"):
        aekit.fit(model, real_batch[:160], epochs=3, batch_size=16, run_dir=tmp_path, resume=True,
                  nan_check_every=4, callbacks=[Poison()], progress=False)
    assert (tmp_path / ckpt.CHECKPOINT_FILE).read_bytes() == good


def test_grouped_nan_check_changes_nothing_else(real_batch):
    a, b = tiny(), tiny()
    ha = aekit.fit(a, real_batch[:100], epochs=2, batch_size=16, progress=False)
    hb = aekit.fit(b, real_batch[:100], epochs=2, batch_size=16, nan_check_every=5, progress=False)
    assert ha["train_loss"] == hb["train_loss"]
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


def test_bf16_autocast_on_cpu_trains_in_bf16_and_keeps_fp32_weights(real_batch):
    model = tiny()
    dtypes = set()
    model.encoder[0].register_forward_hook(lambda m, i, o: dtypes.add(o.dtype) if m.training else None)
    history = aekit.fit(model, real_batch[:256], epochs=4, batch_size=32, lr=3e-3, amp="bf16", progress=False)
    assert dtypes == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert history["train_loss"][-1] < 0.8 * history["train_loss"][0]


def test_fp16_on_cpu_uses_a_grad_scaler(real_batch):
    scalers = []
    cb = LambdaCallback(on_train_begin=lambda t: scalers.append(t.scaler))
    history = aekit.fit(tiny(), real_batch[:128], epochs=2, batch_size=32, amp="fp16", callbacks=[cb], progress=False)
    assert isinstance(scalers[0], torch.amp.GradScaler)
    assert all(v == v for v in history["train_loss"])  # finite


def test_channels_last_convolutions_match_contiguous_ones(real_batch):
    layouts = []
    plain, fast = small_conv(), small_conv()
    conv = next(m for m in fast.modules() if isinstance(m, torch.nn.Conv2d) and m.in_channels > 1)  # (one: both layouts)
    fast.register_forward_pre_hook(lambda m, args: layouts.extend(
        t.is_contiguous(memory_format=torch.channels_last) for t in (args[0], conv.weight)) if m.training else None)
    common = dict(epochs=1, batch_size=32, progress=False, device="cpu")  # cuDNN picks other algorithms per layout
    aekit.fit(plain, real_batch[:128], memory_format="contiguous", **common)
    aekit.fit(fast, real_batch[:128], memory_format="channels_last", **common)
    assert layouts and all(layouts)
    assert conv.weight.is_contiguous()  # handed back as load_model gives it (a notebook trial: its codes 5e-7 apart)
    for k, v in plain.state_dict().items():
        assert torch.allclose(v, fast.state_dict()[k], atol=1e-5), k

    dense = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=[8], code_size=2)  # a bug hunt: taken, unsaid
    with pytest.warns(UserWarning, match=r"^train.memory_format: channels_last lays out the images \(N, C, H, W\) of "
                                         r"2-d convolutional models, and DenseAutoencoder has no 2-d convolutions: it "
                                         r"trains as it is$"):
        aekit.fit(dense, real_batch[:32], memory_format="channels_last", **common)


def test_compile_flag_compiles_the_forward_once(real_batch, monkeypatch):
    compiled = []

    def fake_compile(module, **kwargs):  # the real one takes too long for a unit test
        compiled.append(module)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    model = tiny()
    aekit.fit(model, real_batch[:64], epochs=2, compile=True, progress=False)
    assert compiled == [model]
    aekit.fit(tiny(), real_batch[:64], epochs=1, progress=False)
    assert len(compiled) == 1  # off by default


def test_a_deep_contractive_model_trains_compiled(monkeypatch):
    """A trial: train.compile on a contractive model with hidden layers failed in torch's vmap (its penalty's
    batched backward through the compiled graph); the penalty encodes the inputs again after a compiled forward."""
    real = torch.compile
    monkeypatch.setattr(torch, "compile", lambda module, **kw: real(module, backend="aot_eager"))  # as the default
    model = aekit.create_model("contractive", input_shape=(20,), hidden=[16], code_size=4)  # fails, without C
    history = aekit.fit(model, torch.rand(64, 20), epochs=1, batch_size=32, compile=True, progress=False)
    assert history["train_contractive"][0] > 0


@pytest.mark.parametrize("caller", [False, True])
def test_training_flushes_denormals_in_every_thread_and_gives_the_callers_setting_back(real_batch, caller):
    """A resume trial: a ReLU net's epochs slowed 5x from its sixth on, as Adam's states decayed into denormal
    floats (benchmarks/denormals.py); fit flushes them to zero while it trains. A review: in torch's other threads
    too (torch sets the caller's alone), made before fit (a parallel op here)."""
    import sklearn.decomposition  # noqa: F401  (its own libgomp beside torch's: the suite's workers hold both)

    from aekit.training.threads import flush_denormals

    tiny_values = torch.full((1_000_000,), 1e-39)  # denormal: multiplied across threads, kept unless flushed

    def unflushed() -> int:
        return int(((tiny_values * 1.0) != 0).sum())

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        flush_denormals(caller)
        assert unflushed() == (0 if caller else 1_000_000)  # the pool is made here, before fit
        during = []
        aekit.fit(tiny(), real_batch, epochs=1, progress=False,
                  callbacks=[LambdaCallback(on_epoch_end=lambda t, logs: during.append(unflushed()))])
        assert during == [0] and unflushed() == (0 if caller else 1_000_000)
    finally:
        flush_denormals(False)
        torch.set_num_threads(threads)
