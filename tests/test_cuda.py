"""CUDA paths: device=auto, AMP (bf16, fp16 + GradScaler), GPU checkpoints read on the CPU, memmap
batches copied to the GPU, the NaN check every nan_check_every steps. Skipped without a GPU;
`bash benchmarks/gpu_check.sh` runs them with the GPU throughput table."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

import aekit
from aekit.data.memmap import MemmapArray
from aekit.training import checkpoint as ckpt
from aekit.training.callbacks import Callback

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def tiny(seed: int = 0, **overrides):
    torch.manual_seed(seed)
    return aekit.create_model("dense", input_shape=(1, 28, 28), **{"hidden": [64], "code_size": 8, **overrides})


class Where(Callback):
    """The devices the model's weights were on while it trained."""

    def __init__(self):
        self.seen = set()

    def on_batch_end(self, trainer, batch, logs):
        self.seen.add(str(next(trainer.model.parameters()).device))


def test_device_auto_trains_on_the_gpu_and_hands_the_model_back_where_it_was(real_batch):
    model, where = tiny(), Where()
    history = aekit.fit(model, real_batch, epochs=3, batch_size=64, lr=3e-3, callbacks=[where], progress=False)
    assert where.seen == {"cuda:0"} and next(model.parameters()).device.type == "cpu"
    assert history["train_loss"][-1] < 0.9 * history["train_loss"][0]
    model.encode(real_batch[:4])  # a CPU model takes CPU tensors, as before fit
    on_gpu = tiny().cuda()  # a model the user put on the GPU stays there
    aekit.fit(on_gpu, real_batch[:128], epochs=1, device="cpu", progress=False)
    assert next(on_gpu.parameters()).is_cuda
    with pytest.raises(aekit.DataError):  # refused before training: still where it was
        aekit.fit(model, torch.rand(8, 3), epochs=1, progress=False)
    assert next(model.parameters()).device.type == "cpu"


def test_a_cpu_generator_samples_alike_on_the_cpu_and_the_gpu():
    torch.manual_seed(0)
    vae = aekit.create_model("vae", input_shape=(1, 8, 8), hidden=[16], code_size=2).eval()
    on_cpu = vae.sample(5, generator=torch.Generator().manual_seed(3))
    on_gpu = vae.cuda().sample(5, generator=torch.Generator().manual_seed(3))
    assert on_gpu.is_cuda
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=1e-4, atol=1e-5)


def test_a_run_and_an_experiment_evaluate_on_the_gpu(tmp_path):
    from aekit.apps.cli import main

    assert main(["train", "data.name=digits", "model.name=dense", "model.hidden=[16]", "model.code_size=4",
                 "train.epochs=1", "train.progress=false", f"output.dir={tmp_path}", "output.name=r"]) == 0
    assert main(["experiment", "run", "generate-mnist-grid", "model.name=dense", "train.epochs=1", "--tiny",
                 "--out", str(tmp_path / "x")]) == 0


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_trains_on_the_gpu_close_to_fp32(amp, real_batch):
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    full = aekit.fit(tiny(), real_batch, epochs=3, batch_size=32, lr=3e-3, progress=False)
    mixed_model = tiny()
    mixed = aekit.fit(mixed_model, real_batch, epochs=3, batch_size=32, lr=3e-3, amp=amp, progress=False)
    assert all(np.isfinite(mixed["train_loss"]))
    assert mixed["train_loss"][-1] < 0.9 * mixed["train_loss"][0]
    assert mixed["train_loss"][-1] == pytest.approx(full["train_loss"][-1], rel=0.15)  # fp16 skips a few steps while its scale settles
    assert next(mixed_model.parameters()).dtype == torch.float32  # master weights stay fp32


def test_a_gpu_checkpoint_loads_and_resumes_on_the_cpu(real_batch, tmp_path):
    model = tiny()
    aekit.fit(model, real_batch, epochs=1, batch_size=64, run_dir=tmp_path, progress=False)
    on_cpu = aekit.load_model(tmp_path / ckpt.CHECKPOINT_FILE, map_location="cpu")
    x = real_batch[:16]
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(on_cpu.eval()(x).x_hat, model.cuda()(x.cuda()).x_hat.cpu(), rtol=1e-4, atol=1e-5)
    history = aekit.fit(on_cpu, real_batch, epochs=2, batch_size=64, run_dir=tmp_path, resume=True,
                        device="cpu", progress=False)
    assert len(history["train_loss"]) == 2 and next(on_cpu.parameters()).device.type == "cpu"


def test_memory_mapped_batches_train_on_the_gpu(real_batch, tmp_path):
    path = tmp_path / "digits.npy"
    np.save(path, (real_batch.numpy() * 255).round().astype(np.uint8))
    lazy = MemmapArray(np.load(path, mmap_mode="r"), divisor=255.0)
    model, where = tiny(), Where()
    history = aekit.fit(model, lazy, epochs=2, batch_size=64, callbacks=[where], progress=False)
    assert where.seen == {"cuda:0"}
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_the_gpu_nan_check_still_names_the_first_bad_batch(real_batch):
    class Poison(Callback):  # NaN weights after batch 3 of epoch 1: batch 4 is the first bad loss
        def on_batch_end(self, trainer, batch, logs):
            if trainer.epoch == 0 and batch == 2:
                with torch.no_grad():
                    next(trainer.model.parameters()).fill_(float("nan"))

    with pytest.raises(aekit.NonFiniteLossError, match=r"epoch 1, batch 4\b"):
        aekit.fit(tiny(), real_batch, epochs=1, batch_size=16, callbacks=[Poison()], progress=False)


def test_device_cuda_unindexed_trains_in_memory_and_from_a_memmap(real_batch):
    """"cuda" names the current GPU, whose tensors say cuda:0: batches already there are not pinned again."""
    model, where = tiny(), Where()
    history = aekit.fit(model, real_batch, epochs=1, batch_size=64, device="cuda", callbacks=[where], progress=False)
    assert where.seen == {"cuda:0"} and np.isfinite(history["train_loss"]).all()


def test_an_estimator_fitted_on_the_gpu_unpickles_on_a_cpu_only_machine(real_batch):
    from aekit.apps.sklearn import AutoencoderTransformer

    x = real_batch[:256].reshape(256, -1).numpy()
    est = AutoencoderTransformer(model_params={"hidden": [32], "code_size": 4}, epochs=1, random_state=0).fit(x)
    assert next(est.model_.parameters()).is_cuda  # device="auto": it transforms where it trained
    code = "import pickle, sys; est, x = pickle.load(sys.stdin.buffer); sys.stdout.buffer.write(pickle.dumps(est.transform(x)))"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-c", code], input=pickle.dumps((est, x[:8])), capture_output=True, env=env)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    np.testing.assert_allclose(pickle.loads(proc.stdout), est.transform(x[:8]), rtol=1e-4, atol=1e-5)
    assert next(est.model_.parameters()).is_cuda  # pickling left the fitted estimator on its GPU


def test_deterministic_training_asks_cublas_for_its_repeatable_workspace(real_batch, monkeypatch):
    """A review of the GPU paths: deterministic mode left CUBLAS_WORKSPACE_CONFIG unset, which torch warns of and
    cuBLAS needs for repeatable matrix products."""
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    seen = []
    watch = Callback()
    watch.on_epoch_end = lambda trainer, logs: seen.append(os.environ.get("CUBLAS_WORKSPACE_CONFIG"))
    aekit.fit(tiny(), real_batch[:64], epochs=1, deterministic=True, progress=False, callbacks=[watch])
    assert seen == [":4096:8"] and "CUBLAS_WORKSPACE_CONFIG" not in os.environ  # set while it trains, then not


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_a_vq_vae_picks_the_nearest_entry_under_autocast_on_the_gpu(dtype, real_batch):
    model = aekit.create_model("vq-vae", input_shape=(1, 28, 28), hidden=(64,), positions=4, embedding_dim=3,
                               codebook_size=64).cuda()
    x = real_batch[:256].cuda()
    model.init_from_data(x)
    with torch.no_grad():
        z_e = model.encode_continuous(x)
        exact = model.nearest(z_e)
        with torch.autocast("cuda", dtype=dtype):
            assert torch.equal(model.nearest(z_e), exact)
