"""Run folders and config files from someone else (a files trial): aekit runs no code that came in them, writes
nowhere through a link in them, embeds no file a link in them points to, and refuses a YAML alias bomb in one line."""

from __future__ import annotations

import base64
import sys

import pytest
import yaml

from aekit import ConfigError
from aekit.apps.cli import main
from aekit.config import load_file


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", "data.name=digits", "data.limit=200", "train.epochs=1", "model.name=dense", "model.hidden=[8]",
                 "model.code_size=2", "train.log=[csv]", f"output.dir={out}", "output.name=r", "--quiet"]) == 0
    return out / "r"


def copied(run, tmp_path, name="copy"):
    import shutil

    return shutil.copytree(run, tmp_path / name, ignore=shutil.ignore_patterns(".aekit.lock"))


def test_a_module_the_folder_holds_is_not_imported_through_the_python_path(run, tmp_path, capsys, monkeypatch):
    """`imports: [evilmod]` ran the folder's evilmod.py where the current folder is on the Python path (python -m
    aekit, a notebook): only .py paths were checked."""
    folder = copied(run, tmp_path)
    (folder / "evilmod.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').write('ran')\n")
    config = yaml.safe_load((folder / "config.yaml").read_text())
    (folder / "config.yaml").write_text(yaml.safe_dump({**config, "imports": ["evilmod"]}))
    monkeypatch.setattr(sys, "path", [str(folder), *sys.path])  # as `cd FOLDER && python -m aekit evaluate .`
    assert main(["evaluate", str(folder), "--nll-samples", "0", "--quality-samples", "0"]) == 2
    assert "imports: the module evilmod would be imported from inside the folder" in capsys.readouterr().err
    assert not (tmp_path / "ran").exists()


def test_a_link_in_a_run_folder_is_refused_before_anything_is_written_through_it(run, tmp_path, capsys):
    """resume wrote log.csv through a link to a file outside, evaluate reconstructions.png, and a FIFO named
    .aekit.lock hung both."""
    folder = copied(run, tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's data")
    (folder / "log.csv").unlink()
    (folder / "log.csv").symlink_to(victim)
    assert main(["resume", str(folder), "--epochs", "2", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{folder}: log.csv is a link or a special file, which aekit would write through; make each a plain" in err
    assert victim.read_text() == "the user's data"
    (folder / "log.csv").unlink()
    import os

    os.mkfifo(folder / ".aekit.lock")  # (evaluate waited on it for ever)
    assert main(["evaluate", str(folder), "--nll-samples", "0", "--quality-samples", "0"]) == 2
    assert ".aekit.lock is a link or a special file" in capsys.readouterr().err
    from aekit.training.checkpoint import check_free

    check_free(folder)  # load_model's, report's and export's look: a FIFO is not opened (it blocks for ever: a review)
    (folder / ".aekit.lock").unlink()
    model = folder / "model.safetensors"  # a link aekit only reads, or replaces whole (DVC's, git-annex's): taken
    model.rename(tmp_path / "store.safetensors")
    model.symlink_to(tmp_path / "store.safetensors")
    assert main(["evaluate", str(folder), "--nll-samples", "0", "--quality-samples", "0", "--quiet"]) == 0


def test_the_report_embeds_no_file_a_link_points_to(run, tmp_path):
    folder = copied(run, tmp_path)
    secret = tmp_path / "id_rsa"
    secret.write_text("SECRET-KEY")
    (folder / "leak.png").symlink_to(secret)
    assert main(["report", str(folder), "-o", str(tmp_path / "r.html"), "--quiet"]) == 0
    assert base64.b64encode(b"SECRET-KEY").decode() not in (tmp_path / "r.html").read_text()
    (tmp_path / "secrets.yaml").write_text("token: gho_SECRET\n")  # its config.yaml a link (a review)
    (folder / "config.yaml").unlink()
    (folder / "config.yaml").symlink_to(tmp_path / "secrets.yaml")
    assert main(["report", str(folder), "-o", str(tmp_path / "r2.html"), "--quiet"]) == 2
    assert not (tmp_path / "r2.html").exists()


def test_a_yaml_alias_bomb_and_deeply_nested_json_are_refused_in_one_line(run, tmp_path, capsys):
    chain = '&a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'
    for i in range(1, 10):  # 9^10 values once expanded, in 1.5 KB
        chain = f"&a{i} [{chain}, " + ", ".join([f"*a{i - 1}"] * 8) + "]"
    (tmp_path / "bomb.yaml").write_text(f"model: {{name: dense}}\ntrain: {{log: {chain}}}\n")
    with pytest.raises(ConfigError, match=r"bomb.yaml holds over 100,000 values once its YAML aliases \(\*name\) are "
                                          r"expanded; a config holds far fewer$"):
        load_file(tmp_path / "bomb.yaml")
    (tmp_path / "deep.yaml").write_text("model: {hidden: " + "[" * 5000 + "]" * 5000 + "}\n")
    with pytest.raises(ConfigError, match=r"deep.yaml nests too deep to read$"):
        load_file(tmp_path / "deep.yaml")
    folder = copied(run, tmp_path)
    (folder / "history.json").write_text("[" * 100_000 + "]" * 100_000)
    assert main(["report", str(folder), "-o", str(tmp_path / "r.html"), "--quiet"]) == 2
    assert "history.json is not JSON aekit wrote (nested too deep to read)" in capsys.readouterr().err


def test_a_decompression_bomb_among_images_is_named_and_odd_metrics_do_not_break_the_report(run, tmp_path, monkeypatch):
    """An image folder with a 30,000 x 30,000 PNG of 875 KB said "DecompressionBombError ... (unexpected)", naming no
    file; a metrics.json with a string for the error made the report fail on a format code."""
    import json

    from PIL import Image

    from aekit import DataError
    from aekit.data import load_dataset

    for i in range(2):
        (tmp_path / "pngs" / "a").mkdir(parents=True, exist_ok=True)
        Image.new("L", (20, 20)).save(tmp_path / "pngs" / "a" / f"{i}.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # a 20 x 20 image stands for a bomb
    with pytest.raises(DataError, match=r"0.png: Image size \(400 pixels\), more than PIL reads unasked; resize it first"):
        load_dataset(str(tmp_path / "pngs"))
    folder = copied(run, tmp_path)
    metrics = json.loads((folder / "metrics.json").read_text())
    (folder / "metrics.json").write_text(json.dumps({**metrics, "squared_error_per_sample": "abc"}))
    assert main(["report", str(folder), "-o", str(tmp_path / "r.html"), "--quiet"]) == 0


def test_a_model_file_whose_config_asks_for_a_huge_model_is_refused_before_it_is_built(tmp_path):
    """A 206 KB file whose config was edited to hidden [20000, 20000] (its checksum recomputed: it proves no
    authorship) took 3.5 GB and 5 s before its refusal; the weights are now checked against the meta device's."""
    import aekit
    from aekit.training import checkpoint as ckpt

    ckpt.save_model(aekit.create_model("dense", input_shape=(64,), hidden=[16], code_size=2), tmp_path / "m.safetensors")
    tensors, meta = ckpt.read(tmp_path / "m.safetensors")
    ckpt.write(tmp_path / "big.safetensors", tensors, {**meta, "config": {**meta["config"], "hidden": [300_000] * 2}})
    with pytest.raises(aekit.CheckpointError, match=r"big.safetensors does not fit model 'dense': missing \["):
        aekit.load_model(tmp_path / "big.safetensors")  # (90 billion weights: built for real, a MemoryError)


def test_scores_keep_a_label_a_spreadsheet_would_run_as_a_formula_as_text(tmp_path):
    """A CSV's class names (`=cmd|' /C calc'!A0`, `+HYPERLINK(...)`) went verbatim into scores.csv, the file the docs
    say to rank anomalies by, which a spreadsheet opens and runs."""
    import csv

    import numpy as np

    rng = np.random.default_rng(0)
    labels = ["=cmd|' /C calc'!A0", "+HYPERLINK(\"http://x\")", "-"]  # ("-" alone: a class name, kept)
    rows = [[*map(str, rng.random(4).round(3)), labels[i % 3]] for i in range(60)]
    with open(tmp_path / "t.csv", "w", newline="") as f:
        csv.writer(f).writerows([["a", "b", "c", "d", "label"], *rows])
    assert main(["train", f"data.name={tmp_path / 't.csv'}", "train.epochs=1", "model.name=dense", "model.hidden=[4]",
                 "model.code_size=2", f"output.dir={tmp_path}", "output.name=r", "--quiet"]) == 0
    assert main(["evaluate", str(tmp_path / "r"), "--scores", str(tmp_path / "s.csv"), "--quiet"]) == 0
    with open(tmp_path / "s.csv", newline="") as f:
        written = {row["label"] for row in csv.DictReader(f)}
    assert written == {"'" + labels[0], "'" + labels[1], "-"}


def test_scores_keep_a_class_folder_a_spreadsheet_would_run_after_a_tab_as_text(tmp_path):
    """An untrusted-files hunt: a class folder named "\\t=HYPERLINK(...)" went into scores.csv bare (a tab or a line
    end before '=' starts a formula too, OWASP says)."""
    import csv

    import numpy as np
    from PIL import Image

    for name in ("\t=HYPERLINK(\"x\")", "b"):
        for i in range(6):
            (tmp_path / "imgs" / name).mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(tmp_path / "imgs" / name / f"{i}.png")
    assert main(["train", f"data.name={tmp_path / 'imgs'}", "train.epochs=1", "model.name=dense", "model.hidden=[4]",
                 "model.code_size=2", f"output.dir={tmp_path}", "output.name=r", "--quiet"]) == 0
    assert main(["evaluate", str(tmp_path / "r"), "--data", str(tmp_path / "imgs"), "--scores", str(tmp_path / "s.csv"),
                 "--quiet"]) == 0
    with open(tmp_path / "s.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {row["label"] for row in rows} == {"'\t=HYPERLINK(\"x\")", "b"}
    assert all(not row["file"].lstrip().startswith("=") for row in rows)


def test_a_truncated_npy_declaring_a_huge_array_is_named_truncated_before_any_allocation(tmp_path):
    """A 200-byte .npy whose header declares 160 TB said "out of memory ...; a smaller model, batch size or data set
    needs less"."""
    import numpy as np

    from aekit import DataError
    from aekit.data import load_dataset

    np.save(tmp_path / "x.npy", np.zeros((10, 4), np.float32))
    head = (tmp_path / "x.npy").read_bytes().replace(b"(10, 4)", b"(10000000000, 4000)")
    (tmp_path / "cut.npy").write_bytes(head[:200])
    with pytest.raises(DataError, match=r"cut.npy is truncated: its header declares 160,000,000,000,000 bytes of data "
                                         r"\(\(10000000000, 4000\) float32\), and it holds [\d,]+$"):
        load_dataset(str(tmp_path / "cut.npy"))
    import zipfile

    with zipfile.ZipFile(tmp_path / "cut.npz", "w") as archive:  # an archive's array too (a review)
        archive.writestr("x_train.npy", head[:200])
    with pytest.raises(DataError, match=r"cut.npz: x_train.npy is truncated: its header declares 160,000,000,000,000"):
        load_dataset(str(tmp_path / "cut.npz"))


def test_a_resume_whose_config_asks_for_a_big_model_is_refused_before_it_is_built(run, tmp_path, capsys, monkeypatch):
    """A received run folder whose config.yaml was edited to hidden [12000, 12000] took 1.5 GB before `aekit resume`
    refused it: the config is now compared on a model built on the meta device first."""
    from aekit.apps import run as runs

    folder = copied(run, tmp_path)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["model"]["hidden"] = [12_000, 12_000]
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setattr(runs, "build_checked", lambda *a: pytest.fail("the model was built before the refusal"))
    assert main(["resume", str(folder), "--epochs", "2", "--quiet"]) == 2
    assert "with another config (model.hidden: [8] there, [12000, 12000] here)" in capsys.readouterr().err


def test_a_module_is_looked_up_where_pythons_import_would_find_it(tmp_path, monkeypatch):
    """A review: a compiled evilc.pyc in the folder ran (only name.py and name/ were looked for), and a plain
    subfolder named like a package found first elsewhere on the path was refused."""
    import py_compile

    from aekit.apps.run import _module_inside

    folder, lib = tmp_path / "run", tmp_path / "lib"
    (folder / "mymodels").mkdir(parents=True)  # notes, no package
    (lib / "mymodels").mkdir(parents=True)
    (lib / "mymodels" / "__init__.py").write_text("")
    (folder / "evilc.py").write_text("x = 1\n")
    py_compile.compile(str(folder / "evilc.py"), cfile=str(folder / "evilc.pyc"))
    (folder / "evilc.py").unlink()
    monkeypatch.setattr(sys, "path", [str(lib), str(folder), *sys.path])
    assert _module_inside("evilc", folder.resolve()) and not _module_inside("mymodels", folder.resolve())


def test_an_npz_with_a_member_that_is_no_array_names_it(tmp_path):
    """A review: the size check read every member, so a README.txt in an .npz was "truncated or not a .npz"."""
    import zipfile

    import numpy as np

    from aekit import DataError
    from aekit.data import load_dataset

    np.savez(tmp_path / "x.npz", x=np.random.rand(10, 4).astype(np.float32))
    with zipfile.ZipFile(tmp_path / "x.npz", "a") as archive:
        archive.writestr("README.txt", "made by hand")
    with pytest.raises(DataError, match=r"README.txt"):
        load_dataset(str(tmp_path / "x.npz"))


def test_an_emptied_or_broken_config_yaml_of_a_run_says_to_put_it_back(run, tmp_path, capsys):
    """An environment trial: evaluate, resume and export of a run whose config.yaml was emptied advised 'leave it
    out to train the default job', which is train's advice."""
    copy = copied(run, tmp_path)
    for text in ("", "model: [\n"):
        (copy / "config.yaml").write_text(text)
        for command in (["evaluate", str(copy)], ["resume", str(copy)], ["export", str(copy), "-o", str(tmp_path / "m.pt")]):
            assert main(command) == 2
            err = capsys.readouterr().err
            assert err.endswith(f"; it says how {copy} was trained: put it back from a copy, or train the run again\n"), err
            assert "default job" not in err and len(err.splitlines()) == 1
    assert main(["report", str(copy), "-o", str(tmp_path / "r.html")]) == 2  # (the broken one; a review)
    assert "it says how" in (err := capsys.readouterr().err) and "put it back from a copy" in err


def test_a_run_folders_files_swapped_or_cut_are_refused_not_read_as_the_runs(run, tmp_path, capsys):
    """A files hunt: another run's model.safetensors of the same shape was evaluated and exported as this run's (its
    metrics.json written over); a config.yaml without data.name was evaluated on the default data (mnist-mini); a
    scaling.json or metrics.json holding a JSON list was an "unexpected" AttributeError (the whole report lost)."""
    import json

    other = tmp_path / "runs"
    assert main(["train", "data.name=digits", "data.limit=300", "train.epochs=1", "model.name=dense", "model.hidden=[8]",
                 "model.code_size=2", f"output.dir={other}", "output.name=o", "--quiet"]) == 0
    swapped = copied(run, tmp_path, "swapped")
    (swapped / "model.safetensors").write_bytes((other / "o" / "model.safetensors").read_bytes())
    before = (swapped / "metrics.json").read_bytes()
    assert main(["evaluate", str(swapped), "--nll-samples", "0", "--quality-samples", "0"]) == 2
    assert "model.safetensors was trained on other data (270 samples) than " in capsys.readouterr().err
    assert (swapped / "metrics.json").read_bytes() == before
    assert main(["evaluate", str(copied(run, tmp_path, "same")), "--nll-samples", "0", "--quality-samples", "0",
                 "--quiet"]) == 0  # its own file: read as before
    capsys.readouterr()
    for key in ("data", "model"):
        folder = copied(run, tmp_path, f"no-{key}")
        config = yaml.safe_load((folder / "config.yaml").read_text())
        del config[key]["name"]
        (folder / "config.yaml").write_text(yaml.safe_dump(config))
        assert main(["evaluate", str(folder), "--nll-samples", "0", "--quality-samples", "0"]) == 2
        assert f"config.yaml holds no {key}.name; it says how" in capsys.readouterr().err
    listed = copied(run, tmp_path, "listed")
    (listed / "metrics.json").write_text(json.dumps([1, 2]))
    assert main(["report", str(run), str(listed), "-o", str(tmp_path / "two.html")]) == 0  # the other run's page
    assert "left out of the report: " in capsys.readouterr().err and (tmp_path / "two.html").is_file()
    assert main(["report", str(listed), "-o", str(tmp_path / "one.html")]) == 2
    assert "metrics.json is not a JSON object, as aekit writes it" in capsys.readouterr().err
    (listed / "metrics.json").write_text("{}")
    (listed / "scaling.json").write_text("[1]")
    assert main(["export", str(listed), "-o", str(tmp_path / "e.pt"), "--format", "torchscript", "--raw"]) == 2
    assert "scaling.json is damaged (not a JSON object)" in capsys.readouterr().err


def test_a_name_as_long_as_the_file_system_takes_is_written(run, tmp_path):
    """Its hidden temporary added 14 characters: a 245-character name was refused, "File name too long" (a files
    hunt)."""
    from aekit.writing import atomic_write_text

    path = tmp_path / ("r" * 250 + ".html")
    atomic_write_text(path, "page")
    assert path.read_text() == "page" and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_resume_that_trains_no_epoch_on_rewritten_data_keeps_its_model_readable(tmp_path, capsys):
    """A review: a run killed after its last checkpoint, resumed once its CSV was rewritten, wrote a model recording the
    new data where its checkpoint kept the old, and its own model was refused as another run's."""
    import numpy as np

    rng = np.random.default_rng(5)
    path = tmp_path / "d.csv"
    path.write_text("a,b,c\n" + "\n".join(",".join(f"{v:.4f}" for v in row) for row in rng.random((200, 3))) + "\n")
    assert main(["train", f"data.name={path}", "train.epochs=2", f"output.dir={tmp_path}", "output.name=r",
                 "--quiet"]) == 0
    (tmp_path / "r" / "model.safetensors").unlink()  # killed as the training ended: its model not yet written
    path.write_text("a,b,c\n" + "\n".join(",".join(f"{v:.4f}" for v in row) for row in rng.random((200, 3))) + "\n")
    assert main(["resume", str(tmp_path / "r"), "--quiet"]) == 0
    assert main(["evaluate", str(tmp_path / "r"), "--nll-samples", "0", "--quality-samples", "0", "--quiet"]) == 0
    capsys.readouterr()


def test_a_history_json_cut_short_leaves_the_training_facts_to_the_checkpoint(run, tmp_path, capsys):
    """A files hunt: history.json cut to 40 bytes gave metrics.json "epochs: 0, seconds: 0" beside a checkpoint of
    epoch 1 (and a JSON list was an unexpected AttributeError): the checkpoint's own history is read instead."""
    import json

    for text in ((run / "history.json").read_text()[:40], "[1]"):
        folder = copied(run, tmp_path, f"cut-{len(text)}")
        (folder / "history.json").write_text(text)
        assert main(["evaluate", str(folder), "--nll-samples", "0", "--quality-samples", "0", "--quiet"]) == 0
        training = json.loads((folder / "metrics.json").read_text())["training"]
        assert training == {**json.loads((run / "metrics.json").read_text())["training"], "threads": training["threads"]}
    capsys.readouterr()


def test_a_finished_run_without_checkpoint_or_history_reads_its_epochs_from_its_model(run, tmp_path, capsys):
    """A review: its checkpoint removed (as training.md allows) and history.json emptied, metrics.json said 0 epochs."""
    import json

    folder = copied(run, tmp_path, "bare")
    (folder / "checkpoint.safetensors").unlink()
    (folder / "history.json").write_text("[]")
    assert main(["evaluate", str(folder), "--nll-samples", "0", "--quality-samples", "0", "--quiet"]) == 0
    assert json.loads((folder / "metrics.json").read_text())["training"]["epochs"] == 1
    capsys.readouterr()


def test_small_crafted_files_are_refused_before_they_take_memory(tmp_path):
    """An untrusted-files hunt: a 6.6 KB model file whose model.hidden held a YAML alias bomb took 656 MB (its string
    was parsed piece by piece without the size check); a 306 KB gzipped IDX file was decompressed whole (848 MB) before
    its header was compared; a 66-byte pickle of bytes(400_000_000) took 3.2 GB in the restricted unpickler; an .npz
    member whose header claims 32 TiB read "out of memory; a smaller model needs less"."""
    import gzip
    import io
    import pickle
    import zipfile

    import numpy as np

    from aekit import ConfigError, DataError
    from aekit.config import coerce
    from aekit.data.cifar import restricted_load
    from aekit.data.idx import read_idx
    from aekit.data.text import read_npz

    bomb = "- &a0\n  - lol\n" + "".join(f"- &a{i}\n" + f"  - *a{i - 1}\n" * 9 for i in range(1, 9))
    with pytest.raises(ConfigError, match="model.hidden: "):
        coerce(bomb, list[int], "model.hidden")
    with gzip.open(tmp_path / "x-idx3-ubyte.gz", "wb") as f:  # 10 images of 8 x 8, then 64 MiB more
        f.write(bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (10, 8, 8)) + bytes(640 + 64 * 2**20))
    with pytest.raises(DataError, match="holds bytes past its data: its header promises 640 data bytes"):
        read_idx(tmp_path / "x-idx3-ubyte.gz")
    with gzip.open(tmp_path / "y-idx3-ubyte.gz", "wb") as f:  # a header promising 2^60 bytes
        f.write(bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (2**28, 2**16, 2**16)) + bytes(64))
    with pytest.raises(DataError, match="is truncated: its header promises"):
        read_idx(tmp_path / "y-idx3-ubyte.gz")
    made = b"cbuiltins\nbytes\n(J" + (400_000_000).to_bytes(4, "little") + b"tR."
    with pytest.raises(DataError, match=r"refusing bytes\(400,000,000\), bytes the pickle does not hold"):
        restricted_load(io.BytesIO(made), what="batches.meta")
    numpy_count = pickle.dumps(np.int64(400_000_000))[2:-1]  # (a review: numpy's integer passed the check)
    with pytest.raises(DataError, match=r"refusing bytes\(400,000,000\)"):
        restricted_load(io.BytesIO(b"\x80\x02cbuiltins\nbytes\n" + numpy_count + b"\x85R."), what="batches.meta")
    assert restricted_load(io.BytesIO(pickle.dumps({"label_names": [b"cat", bytearray(b"dog")]})), what="m") == {
        "label_names": [b"cat", bytearray(b"dog")]}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (2**45,)})
    with zipfile.ZipFile(tmp_path / "imdb.npz", "w") as z:
        z.writestr("x_train.npy", header.getvalue() + bytes(16))
    with pytest.raises(DataError, match="x_train.npy is truncated: its header declares 35,184,372,088,832 bytes"):
        read_npz(tmp_path / "imdb.npz")


def test_a_module_beside_a_downloaded_run_folder_is_not_run_unasked(run, tmp_path, capsys, monkeypatch):
    """An untrusted-files hunt: an archive's helpers.py beside its run folder (dl/helpers.py, dl/run/ naming
    `imports: [helpers]`) ran as the report of dl/run was written from dl/: only a module inside the folder was refused.
    A module is imported for a folder only where the user's own settings imported it once (or it is installed)."""
    from aekit import registry

    monkeypatch.setattr(registry, "_trust_mark", lambda file: tmp_path / "trust" / file.name)  # a cache of its own
    download = tmp_path / "dl"
    folder = copied(run, download, "run")
    (download / "helpers.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').write('ran')\n")
    config = yaml.safe_load((folder / "config.yaml").read_text())
    (folder / "config.yaml").write_text(yaml.safe_dump({**config, "imports": ["helpers"]}))
    monkeypatch.chdir(download)
    monkeypatch.setattr(sys, "path", [str(download), *sys.path])  # as `cd dl && python -m aekit report run`
    assert main(["evaluate", "run", "--nll-samples", "0", "--quality-samples", "0"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"aekit: error: {folder}: imports: helpers ({download / 'helpers.py'}) is code you have not imported with aekit "
        "yourself; if you trust it, import it once: aekit models --imports helpers (or give this command --imports "
        "helpers; in Python, import it first)")
    assert main(["report", "run", "--output", str(tmp_path / "r.html")]) == 0  # its map left out, the reason on it
    assert "aekit: note: no latent map of run: " in capsys.readouterr().err  # and in the terminal
    assert "is code you have not imported with aekit yourself" in (tmp_path / "r.html").read_text()
    assert not (tmp_path / "ran").exists()
    assert main(["models", "--imports", "helpers"]) == 0  # trusted: it ran, as asked
    sys.modules.pop("helpers", None)
    (tmp_path / "ran").unlink()
    assert main(["evaluate", "run", "--nll-samples", "0", "--quality-samples", "0"]) == 0
    assert (tmp_path / "ran").is_file()
    sys.modules.pop("helpers", None)  # a review: trusted by its path, the file unpacked again with other code ran
    (download / "helpers.py").write_text(f"open({str(tmp_path / 'ran2')!r}, 'w').write('ran')\n")
    assert main(["evaluate", "run", "--nll-samples", "0", "--quality-samples", "0"]) == 2
    assert "has changed since you imported it with aekit; if the change is yours, import it again: aekit models " \
        "--imports helpers" in capsys.readouterr().err
    assert not (tmp_path / "ran2").exists()
    (download / "helpers.py").write_text("")  # a review: a trusted .py (its folder put on the path as it is imported)
    assert main(["models", "--imports", str(download / "helpers.py")]) == 0  # beside a module the folder names next
    (download / "evil.py").write_text(f"open({str(tmp_path / 'ran4')!r}, 'w').write('ran')\n")
    (folder / "config.yaml").write_text(yaml.safe_dump({**config, "imports": [str(download / "helpers.py"), "evil"]}))
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(download)])  # (as in a new process)
    sys.modules.pop("helpers", None)
    assert main(["evaluate", "run", "--nll-samples", "0", "--quality-samples", "0"]) == 2
    assert "imports: evil (" in capsys.readouterr().err and not (tmp_path / "ran4").exists()
    (download / "spaced" / "inner").mkdir(parents=True)  # a namespace package (no __init__.py): its module's own file
    (download / "spaced" / "inner" / "evil.py").write_text("")
    assert registry.untrusted_file("spaced.inner.evil") == (download / "spaced" / "inner" / "evil.py").resolve()
    installed = tmp_path / "site" / "extended"  # a review: a trusted (installed) pkgutil-style namespace package, as
    installed.mkdir(parents=True)  # setuptools' backports, extends its path with ./extended of the current folder
    (installed / "__init__.py").write_text("__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n")
    registry.trust([(installed / "__init__.py").resolve()])
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(sys, "path", [*sys.path, str(download)])
    (download / "extended").mkdir()
    (download / "extended" / "evil_x.py").write_text(f"open({str(tmp_path / 'ran3')!r}, 'w').write('ran')\n")
    assert registry.untrusted_file("extended.evil_x") == (download / "extended" / "evil_x.py").resolve()
    assert not (tmp_path / "ran3").exists()
