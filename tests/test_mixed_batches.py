"""Mixed batches (train.labelled_per_batch): a set number of labelled samples in every batch, the
small labelled set cycled through reshuffled passes, the order a pure function of (seed, epoch)."""

from __future__ import annotations

import types
from collections import Counter

import numpy as np
import pytest
import torch
from semisup_stub import NAME, registered

import aekit
from aekit.models.classifier import EncoderClassifier
from aekit.training import loop
from aekit.training.callbacks import Callback
from aekit.training.distributed import shard
from aekit.training.loop import mixed_epoch_order


@pytest.fixture
def stub():
    with registered():
        yield lambda seed=0: _stub(seed)


def _stub(seed: int):
    torch.manual_seed(seed)
    return aekit.create_model(NAME, input_shape=(1, 28, 28), n_classes=10)


@pytest.fixture(scope="module")
def partly_labelled(mnist_mini):
    """300 real digits of which 20 (two a class) keep their labels; the others are -1."""
    x, y = mnist_mini.x[:300], mnist_mini.y[:300].clone()
    keep = torch.cat([torch.nonzero(y == c).flatten()[:2] for c in range(10)])
    y_semi = torch.full_like(y, -1)
    y_semi[keep] = y[keep]
    return x, y_semi


def order(labelled, unlabelled, *, k=5, batch=25, seed=0, epoch=0, shuffle=True):
    return mixed_epoch_order(torch.as_tensor(labelled), torch.as_tensor(unlabelled), labelled_per_batch=k,
                             batch_size=batch, seed=seed, epoch=epoch, shuffle=shuffle)


def test_every_batch_holds_the_set_number_of_labelled_samples_and_each_unlabelled_one_once():
    labelled, unlabelled = torch.arange(7) * 10, torch.tensor([i for i in range(400) if i % 10 or i >= 70])
    got = order(labelled, unlabelled, k=5, batch=25)
    batches = list(got.split(25))
    assert len(batches) == -(-len(unlabelled) // 20)  # one pass over the unlabelled samples, 20 a batch
    for b in batches:
        assert len(b) == 25 or b is batches[-1]
        assert torch.isin(b[:5], labelled).all() and not torch.isin(b[5:], labelled).any()
    assert sorted(got[~torch.isin(got, labelled)].tolist()) == sorted(unlabelled.tolist())


def test_the_small_labelled_set_is_cycled_evenly_through_reshuffled_passes():
    labelled, unlabelled = torch.arange(10), torch.arange(10, 1010)
    epochs = [order(labelled, unlabelled, k=8, batch=32, epoch=e) for e in range(3)]
    drawn = torch.cat([e.split(32)[b][:8] for e in epochs for b in range(len(e.split(32)))])
    assert len(drawn) == 3 * 42 * 8  # 42 batches an epoch, 8 labelled in each: each sample ~34 times an epoch
    counts = Counter(drawn[: 42 * 8].tolist())  # the first epoch
    assert set(counts) == set(range(10)) and max(counts.values()) - min(counts.values()) <= 2
    # across epochs the draws continue one stream of passes, each a fresh permutation of the labelled set
    passes = drawn[: len(drawn) // 10 * 10].view(-1, 10)
    assert all(sorted(p.tolist()) == list(range(10)) for p in passes)
    assert len({tuple(p.tolist()) for p in passes}) > 0.9 * len(passes)  # reshuffled, not repeated


def test_the_order_is_a_pure_function_of_seed_and_epoch():
    labelled, unlabelled = torch.arange(0, 30, 3), torch.tensor([i for i in range(300) if i % 3])
    assert torch.equal(order(labelled, unlabelled, seed=4, epoch=2), order(labelled, unlabelled, seed=4, epoch=2))
    assert not torch.equal(order(labelled, unlabelled, seed=4, epoch=2), order(labelled, unlabelled, seed=4, epoch=3))
    assert not torch.equal(order(labelled, unlabelled, seed=4, epoch=2), order(labelled, unlabelled, seed=5, epoch=2))
    plain = order(labelled, unlabelled, shuffle=False)  # no shuffling: both parts in their own order
    assert plain[:5].tolist() == labelled[:5].tolist() and plain[5:25].tolist() == unlabelled[:20].tolist()


def test_each_process_of_a_distributed_run_keeps_the_ratio():
    labelled, unlabelled = torch.arange(6), torch.arange(6, 206)
    got = order(labelled, unlabelled, k=4, batch=20)
    for rank in range(2):
        mine = shard(got, rank, 2)
        for b in mine.split(10):  # this rank's half of each global batch
            assert int(torch.isin(b, labelled).sum()) == 2


def test_fit_trains_on_mixed_batches(stub, partly_labelled):
    x, y = partly_labelled
    model = stub()
    history = aekit.fit(model, (x, y), epochs=2, batch_size=32, labelled_per_batch=8, progress=False)
    labels = [yb for _, yb in model.seen]
    assert len(labels) == 2 * 12  # 280 unlabelled digits, 24 a batch: 12 batches an epoch
    assert all(int((yb != -1).sum()) == 8 for yb in labels)
    assert [len(yb) for yb in labels[:12]] == [32] * 11 + [8 + 280 - 11 * 24]
    # the 20 labelled digits are each seen ~5 times an epoch (96 labelled draws), not once
    labelled_rows = x[y != -1].flatten(1)  # (20, 784)

    def which(row):  # the labelled digit a batch row is
        (i,) = torch.nonzero((labelled_rows == row).all(1)).flatten().tolist()
        return i

    drawn = Counter(which(row) for xb, yb in model.seen[:12] for row in xb[yb != -1].flatten(1).cpu())
    assert sum(drawn.values()) == 96 and set(drawn) == set(range(20))
    assert min(drawn.values()) >= 4 and max(drawn.values()) <= 5
    assert set(history) >= {"train_loss", "train_error", "train_supervised", "train_denoising"}


def test_a_mixed_run_resumes_exactly(stub, partly_labelled, tmp_path):
    x, y = partly_labelled
    options = dict(batch_size=32, labelled_per_batch=8, lr=1e-2, deterministic=True, progress=False, seed=3)
    whole = stub(seed=1)
    aekit.fit(whole, (x, y), epochs=3, **options)
    first = stub(seed=1)
    aekit.fit(first, (x, y), epochs=2, run_dir=tmp_path, **options)  # then "crash"
    again = stub(seed=7)
    aekit.fit(again, (x, y), epochs=3, run_dir=tmp_path, resume=True, **options)
    assert [yb.tolist() for _, yb in again.seen] == [yb.tolist() for _, yb in whole.seen[-len(again.seen):]]
    for key, value in whole.state_dict().items():
        assert torch.equal(again.state_dict()[key], value), key


def test_a_budgeted_mixed_run_keeps_the_ratio(stub, partly_labelled, monkeypatch):
    x, y = partly_labelled
    now = [0.0]
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))

    class Tick(Callback):  # one second a step: the budget is a number of steps
        def on_batch_end(self, trainer, batch, logs):
            now[0] += 1.0

    model = stub()
    aekit.fit(model, (x, y), time_budget=15, batch_size=32, labelled_per_batch=8, callbacks=[Tick()], progress=False)
    assert len(model.seen) == 15  # an epoch and a part of the next
    assert all(int((yb != -1).sum()) == 8 for _, yb in model.seen)


def test_memory_mapped_inputs_train_like_loaded_ones(stub, partly_labelled, tmp_path):
    x, y = partly_labelled
    u8 = np.rint(x.numpy() * 255).astype(np.uint8)
    np.save(tmp_path / "x.npy", u8)
    common = dict(epochs=1, batch_size=32, labelled_per_batch=8, progress=False, seed=2)
    in_memory, mapped = stub(), stub()
    aekit.fit(in_memory, (torch.from_numpy(u8.astype(np.float32) / 255.0), y), **common)
    aekit.fit(mapped, (np.load(tmp_path / "x.npy", mmap_mode="r"), y), **common)
    assert all(torch.equal(v, mapped.state_dict()[k]) for k, v in in_memory.state_dict().items())


@pytest.mark.parametrize("value", [-1, 32, 40])
def test_labelled_per_batch_must_leave_room_for_unlabelled_samples(value):
    with pytest.raises(aekit.ConfigError, match=r"^train\.labelled_per_batch: must be in \[0, batch_size - 1\] = \[0, 31\]"):
        aekit.fit(None, torch.zeros(4, 2), epochs=1, batch_size=32, labelled_per_batch=value)


def test_data_that_cannot_make_mixed_batches_is_refused(stub, partly_labelled):
    x, y = partly_labelled
    common = dict(epochs=1, batch_size=32, labelled_per_batch=8, progress=False)
    with pytest.raises(aekit.DataError, match="every training sample is labelled"):
        aekit.fit(stub(), (x, y.clamp(min=0)), **common)
    with pytest.raises(aekit.DataError, match="no training sample is labelled"):
        aekit.fit(stub(), (x, torch.full_like(y, -1)), **common)
    with pytest.raises(aekit.DataError, match="needs training labels"):
        aekit.fit(stub(), x, **common)
    dense = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=[8], code_size=2)
    with pytest.raises(aekit.DataError, match="for semi-supervised models .* 'dense' is not one"):
        aekit.fit(dense, (x, y), **common)


def test_unlabelled_samples_never_reach_a_supervised_models_loss(partly_labelled, monkeypatch):
    x, y = partly_labelled
    ae = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=[8], code_size=4)
    clf = EncoderClassifier.on(ae, 10)
    calls = []
    monkeypatch.setattr(clf, "loss", lambda *a, **k: calls.append(k) or {})
    with pytest.raises(aekit.DataError, match=r"-1 marks 280 samples as unlabelled, which needs a semi-supervised model such as ladder or m2"):
        aekit.fit(clf, (x, y), epochs=1, progress=False)
    cvae = aekit.create_model("cvae", input_shape=(1, 28, 28), n_classes=10)
    with pytest.raises(aekit.DataError, match="semi-supervised model"):
        aekit.fit(cvae, (x, y), epochs=1, progress=False)
    assert calls == []


WORKER = """
import sys, torch
import aekit
from aekit.data import load_dataset
torch.set_num_threads(1)
out = sys.argv[1]
data = load_dataset("digits", "train")
x, y = data.x[:256], data.y[:256].clone()
y[20:] = -1  # 20 labelled digits among 256
torch.manual_seed(0)
model = aekit.create_model("m2", input_shape=(1, 8, 8), n_classes=10, hidden=(16,), code_size=4)
labelled = []  # labelled rows in each of this process's batches
loss = model.loss
model.loss = lambda x, output, *, y=None: labelled.append(int((y != -1).sum())) or loss(x, output, y=y)
options = dict(batch_size=32, labelled_per_batch=8, lr=3e-3, progress=False, seed=2, device="cpu")
aekit.fit(model, (x, y), epochs=1, run_dir=out + "/run", **options)
aekit.fit(model, (x, y), epochs=2, run_dir=out + "/run", resume=True, **options)
rank = torch.distributed.get_rank()
torch.save({"state": model.state_dict(), "labelled": labelled}, f"{out}/rank{rank}.pt")
"""


def test_two_processes_each_keep_the_ratio_and_end_alike(tmp_path):
    """Under torchrun every process's half of a batch holds half its labelled samples."""
    import fcntl
    import os
    import subprocess
    import sys
    import tempfile

    if not torch.distributed.is_available():
        pytest.skip("torch.distributed is not built")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TMPDIR": str(tmp_path)}  # (torchrun's agent's folder: the test's)
    with open(os.path.join(tempfile.gettempdir(), "aekit-torchrun-tests.lock"), "w") as lock:  # as test_distributed.py
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                               str(script), str(tmp_path)], capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert rank0["labelled"] == rank1["labelled"] == [4] * 20  # 236 unlabelled, 24 a batch: 10 batches, 2 epochs
    assert all(torch.equal(rank0["state"][k], rank1["state"][k]) for k in rank0["state"])
