"""aekit as an ordinary user among others (a non-root hunt): folders and files of other users, a shared group's run
folder, a data folder it may not write. The suite runs as root, whom no permission stops: the refusals are made
by faking what the system answers an ordinary user."""

from __future__ import annotations

import errno
import os

import pytest

from aekit.apps.cli import _error_line, main
from aekit.training import checkpoint as ckpt


def test_a_shared_folder_holding_another_users_lock_file_is_held(tmp_path, monkeypatch):
    """The lock file of a group member's run (mode 644) could not be opened to append: "the folder cannot be written",
    where it could; flock takes a descriptor opened to read."""
    (tmp_path / ckpt.LOCK_FILE).write_text("")
    real = open

    def theirs(path, mode="r", *args, **kwargs):
        if str(path).endswith(ckpt.LOCK_FILE) and "a" in mode:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(ckpt, "open", theirs, raising=False)
    with ckpt.hold(tmp_path):
        assert ckpt._HELD
    monkeypatch.setattr(ckpt.os, "access", lambda path, mode: False)  # a folder it may not write: as before
    with pytest.raises(ckpt.CheckpointError, match=r"cannot be written \(Permission denied\), and this command writes"):
        with ckpt.hold(tmp_path):
            pass


def test_a_folder_it_may_not_enter_is_named_not_a_file_in_it(monkeypatch):
    """'secret/experiment.yaml: Permission denied' named a file that was not there; the folder was the matter."""
    monkeypatch.setattr(os, "access", lambda path, mode: not str(path).endswith("secret"))
    monkeypatch.setattr(os.path, "isdir", lambda path: str(path) in ("/", "/runs", "/runs/secret"))  # (what a stat
    for name in ("/runs/secret/experiment.yaml", "/runs/secret/run/config.yaml"):  # inside it cannot tell: a review)
        line, code = _error_line(PermissionError(errno.EACCES, "Permission denied", name))
        assert (line, code) == ("/runs/secret: the folder cannot be read (Permission denied); ask its owner, or copy "
                                "it where you may", 2)
    line, _ = _error_line(PermissionError(errno.EACCES, "Permission denied", "/runs/r/checkpoint.safetensors"))
    assert line.startswith("/runs/r/checkpoint.safetensors: Permission denied")  # a folder not there: the file named


def test_a_data_folder_it_may_not_write_advises_one_it_may(tmp_path, monkeypatch):
    """A missing data set in a shared read-only data folder advised first to put the files there."""
    from aekit.data import download
    from aekit.data.download import RemoteFile, ensure_files
    from aekit.errors import DataNotFoundError

    monkeypatch.setattr(download.os, "access", lambda path, mode: False)
    with pytest.raises(DataNotFoundError, match=r"the download failed \(.*\); set AEKIT_DATA_DIR to a folder you may "
                                                r"write \(.* cannot be written\), or have the files from http://127"):
        ensure_files(tmp_path / "set", [RemoteFile("a.gz", "http://127.0.0.1:9/a.gz", None)], dataset="set")


def test_a_report_leaves_out_the_curves_of_a_history_it_may_not_read(tmp_path, monkeypatch, capsys):
    from aekit.apps import report

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("model: {name: dense}\ndata: {name: digits}\n")
    (run / "history.json").write_text('{"train_loss": [1.0]}')
    read = report._read_json

    def theirs(path):
        if path.name == "history.json":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return read(path)

    monkeypatch.setattr(report, "_read_json", theirs)
    assert main(["report", str(run), "--output", str(tmp_path / "r.html")]) == 0
    assert "history.json: cannot be read (Permission denied); its learning curves are left out" in capsys.readouterr().err


def test_a_trusted_files_bytecode_and_the_helpers_it_imports_are_checked_too(tmp_path, monkeypatch, capsys):
    """A non-root hunt: a __pycache__ .pyc carrying the trusted source's time and size ran in its place; and a
    helpers.py beside the trusted file, changed by another user, ran unasked as the run folder was read."""
    import importlib.util
    import py_compile
    import sys

    from aekit import registry

    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    code = tmp_path / "code"
    code.mkdir()
    (code / "helpers_x7.py").write_text("WIDTH = 8\n")
    model = code / "models_x7.py"
    model.write_text("import aekit\nfrom aekit.models.dense import DenseAutoencoder\nimport helpers_x7\n\n\n"
                     "@aekit.register_model('model-x7')\nclass M(DenseAutoencoder):\n    pass\n" + "#" * 300 + "\n")
    try:
        assert main(["train", f"imports=[{model}]", "model.name=model-x7", "data.name=digits", "data.limit=100",
                     "train.epochs=1", f"output.dir={tmp_path}", "output.name=run", "--quiet"]) == 0
        for name in ("models_x7", "helpers_x7"):  # a new process
            sys.modules.pop(name, None)
        registry._MODELS.pop("model-x7")
        (code / "helpers_x7.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")  # another user's change
        assert main(["evaluate", str(tmp_path / "run"), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert "helpers_x7.py, which " in err and "has changed since you imported it with aekit" in err, err
        assert not (tmp_path / "ran").exists()
        (code / "helpers_x7.py").write_text("WIDTH = 8\n")  # as it was: trusted again
        evil = code / "evil.py"  # bytecode of other code, with the source's time and size, where Python looks first
        source = f"open({str(tmp_path / 'ran')!r}, 'w').close()\n"
        evil.write_text(source + "#" * (model.stat().st_size - len(source) - 1) + "\n")
        os.utime(evil, (model.stat().st_atime, model.stat().st_mtime))
        py_compile.compile(str(evil), cfile=importlib.util.cache_from_source(str(model)))
        for name in ("models_x7", "helpers_x7"):
            sys.modules.pop(name, None)
        registry._MODELS.pop("model-x7", None)
        capsys.readouterr()
        assert main(["evaluate", str(tmp_path / "run"), "--quiet"]) == 0, capsys.readouterr().err
        assert not (tmp_path / "ran").exists()  # the source ran, not the bytecode beside it
    finally:
        for name in ("models_x7", "helpers_x7"):
            sys.modules.pop(name, None)
        if str(code) in sys.path:
            sys.path.remove(str(code))


def test_a_module_imported_already_is_not_said_to_be_imported_again(tmp_path):
    """A review: `aekit train` of one's own config noted "importing mypkg.models, which RUN's imports name (its code
    runs: read folders you trust)", as if the folder were someone else's, of a module imported already."""
    import warnings

    from aekit.apps.run import folder_imports

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folder_imports(tmp_path, ["json"])


def test_a_model_file_that_first_imports_torch_is_trusted_and_a_swallowed_refusal_is_said(tmp_path, monkeypatch, capsys):
    """A review: trusting the files an import brings read torch.ops' relative __file__ ("_ops.py") as a path, and
    `aekit models --imports FILE` (the refusal's own advice) failed in a new process; a refusal inside the user's
    `try: ... except ImportError` went unsaid, the model running its fallback."""
    import subprocess
    import sys

    from aekit import registry

    (tmp_path / "mine_q1.py").write_text("import torch\nimport aekit\nfrom aekit.models.dense import DenseAutoencoder\n\n\n"
                                         "@aekit.register_model('mine-q1')\nclass M(DenseAutoencoder):\n    pass\n")
    proc = subprocess.run([sys.executable, "-m", "aekit", "models", "--imports", str(tmp_path / "mine_q1.py")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 0 and "mine-q1" in proc.stdout, proc.stderr
    assert registry._installed(registry.Path(registry.__file__).resolve())  # aekit's own files are no user's code
    import site

    for place in site.getsitepackages():  # nor the system's packages (a review: Debian's dist-packages)
        assert registry._installed(registry.Path(place).resolve() / "x.py")
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    (tmp_path / "fast_q1.py").write_text("VALUE = 1\n")
    (tmp_path / "guarded_q1.py").write_text("try:\n    import fast_q1\nexcept ImportError:\n    fast_q1 = None\n")
    try:
        registry.import_models([str(tmp_path / "guarded_q1.py")])  # the user's own: it and fast_q1 trusted
        for name in ("guarded_q1", "fast_q1"):
            sys.modules.pop(name)
        (tmp_path / "fast_q1.py").write_text("VALUE = 2\n")  # changed by another
        with pytest.raises(registry.ConfigError, match=r"fast_q1\.py, which .*guarded_q1\.py imports, has changed since "
                                                       r"you imported it with aekit"):
            registry.import_models([str(tmp_path / "guarded_q1.py")], own=False)
        assert "guarded_q1" not in sys.modules  # refused: not left imported (its models registered)
        (tmp_path / "guarded_q1.py").write_text(  # the refusal made an error of the user's own: said all the same
            "try:\n    import fast_q1\nexcept ImportError as err:\n    raise RuntimeError('install fast_q1') from err\n")
        (tmp_path / "fast_q1.py").write_text("VALUE = 3\n")  # changed again: the user's import above trusted VALUE = 2
        registry.import_models([str(tmp_path / "guarded_q1.py")])  # (imports fast_q1 as it is: trusted now)
        for name in ("guarded_q1", "fast_q1"):
            sys.modules.pop(name)
        (tmp_path / "fast_q1.py").write_text("VALUE = 4\n")
        with pytest.raises(registry.ConfigError, match=r"fast_q1\.py, which .*guarded_q1\.py imports, has changed"):
            registry.import_models([str(tmp_path / "guarded_q1.py")], own=False)
    finally:
        for name in ("guarded_q1", "fast_q1"):
            sys.modules.pop(name, None)
        if str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))
