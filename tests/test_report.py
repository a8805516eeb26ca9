"""The HTML report: self-contained, every picture of every run embedded, curves drawn, valid-looking HTML."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image

import aekit
from aekit import ConfigError, create_model, list_models
from aekit.analysis.latent import latent_explorer
from aekit.apps.cli import main
from aekit.apps.experiments import run_experiment
from aekit.apps.report import read_run_folder, write_report

TINY_TRAIN = {
    "model": {"name": "dense", "hidden": [32], "code_size": 4},
    "data": {"name": "digits", "val_fraction": 0.2},
    "train": {"epochs": 2, "batch_size": 64, "progress": False},
}
URI = 'src="data:image/png;base64,'


@pytest.fixture(scope="module")
def train_run(tmp_path_factory):
    """A plain `aekit train` run folder: config.yaml, history.json, metrics.json, reconstructions.png."""
    root = tmp_path_factory.mktemp("train")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY_TRAIN))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["train", str(config), f"output.dir={root}", "output.name=digits-run", "--quiet"]) == 0
    finally:
        torch.set_num_threads(threads)
    return root / "digits-run"


@pytest.fixture(scope="module")
def experiment_run(tmp_path_factory):
    """An experiment folder (two models, two pictures) from the tied-vs-untied experiment's tiny preset."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_dir, _ = run_experiment("tied-mnist", ["train.epochs=1", "data.limit=200"], out_dir=tmp_path_factory.mktemp("exp"),
                                    tiny=True)
    finally:
        torch.set_num_threads(threads)
    return run_dir


VOID = {"meta", "img", "br", "hr", "link", "input", "col", "wbr", "source"}


class TagChecker(HTMLParser):
    """Every non-void element closed in order; records src/href values."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.links += [v for k, v in attrs if k in ("src", "href") and v is not None]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def check_page(page: str) -> TagChecker:
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    checker = TagChecker()
    checker.feed(page)
    checker.close()
    assert not checker.errors and not checker.stack, (checker.errors[:3], checker.stack)
    # self-contained: only embedded pictures and links inside the page
    for link in checker.links:
        assert link.startswith(("data:image/png;base64,", "#")), link[:60]
    # the script is inline (the SVG namespace is a name, not an address) and loads nothing
    without_namespace = page.replace('"http://www.w3.org/2000/svg"', "")
    assert "http://" not in without_namespace and "https://" not in page and "<link" not in page
    assert "<script src" not in page and "import(" not in page and "fetch(" not in page
    for uri in re.findall(r'src="data:image/png;base64,([^"]+)"', page):
        assert base64.b64decode(uri)[:8] == b"\x89PNG\r\n\x1a\n"
    return checker


def test_report_of_a_train_run(train_run, tmp_path):
    out = write_report([train_run], tmp_path / "one.html")
    page = out.read_text()
    check_page(page)
    pngs = list(train_run.rglob("*.png"))
    assert [p.name for p in pngs] == ["reconstructions.png"]
    assert page.count(URI) == len(pngs)
    assert page.count('class="plot curves-plot"') == 1  # learning curves from history.json, drawn in the page
    assert page.count('class="latent-explorer') == 1 and "4-d codes of" in page  # a PCA plane of the codes
    assert "digits-run" in page and "Runs at a glance" in page
    assert "squared_error_per_sample" in page and "pca_squared_error_per_sample" in page  # metrics.json
    assert "code_size: 4" in page  # config.yaml
    assert "test squared error per sample" in page  # the headline
    assert "Test metrics (metrics.json)" in page and "Test samples (top row)" in page and "test samples" in page
    assert "for its input image and label" in page
    assert "pca_exact" not in page  # (a review: a row "pca_exact false" on every page; the PCA note says it in words)
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically: no temporary file left behind


def test_a_run_measured_on_its_validation_split_is_not_called_test(tmp_path):
    rows = torch.rand(60, 5).numpy()
    (tmp_path / "table.csv").write_text("\n".join(",".join(f"{v:.4f}" for v in row) for row in rows))
    config = {**TINY_TRAIN, "data": {"name": str(tmp_path / "table.csv"), "val_fraction": 0.2}}
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", str(tmp_path / "t.yaml"), f"output.dir={tmp_path}", "output.name=t", "--quiet"]) == 0
    assert (tmp_path / "t" / "reconstructions.png").is_file()  # a table's rows, drawn as curves (images only, before)
    page = write_report([tmp_path / "t"], tmp_path / "t.html").read_text()
    assert "Validation metrics (metrics.json)" in page and "validation samples" in page and "test samples" not in page
    assert "its values drawn as a curve, one a channel" in page and 'class="latent-explorer explorer curves"' in page
    hover = re.search(r'"images": \["data:image/png;base64,([^"]+)"', page).group(1)  # a table's row: a curve
    assert Image.open(io.BytesIO(base64.b64decode(hover))).size == (160, 80)
    metrics = json.loads((tmp_path / "t" / "metrics.json").read_text())  # not past PCA: said as evaluate says it (a
    (tmp_path / "t" / "metrics.json").write_text(json.dumps({**metrics, "squared_error_per_sample": 2 * metrics[  # review:
        "pca_squared_error_per_sample"]}))  # unsaid in the report)
    page = write_report([tmp_path / "t"], tmp_path / "t.html").read_text()
    assert "(PCA-" in page and "; 2 times PCA&#39;s error: PCA serves these samples better; this training did not take the model past it" in page
    assert "a little optimistic" not in page  # no epoch chosen on the validation part
    (tmp_path / "t" / "metrics.json").write_text(json.dumps({**metrics, "training": {**metrics["training"], "kept_epoch": 1}}))
    page = write_report([tmp_path / "t"], tmp_path / "t.html").read_text()  # (an image trial: said by the run, not here)
    assert "(no test split: the samples that chose the epoch restore_best kept, so a little optimistic)" in page
    assert "too few" not in page  # 12 validation samples
    (tmp_path / "t" / "metrics.json").write_text(json.dumps({**metrics, "n": 3}))  # (a trial: "1 sample", unremarked)
    page = write_report([tmp_path / "t"], tmp_path / "t.html").read_text()
    assert "(measured on 3 samples only: too few for these figures to say much)" in page


def test_a_run_of_one_validation_sample_has_a_report_with_its_caution(tmp_path):
    """A review: a 12-row table's run (one validation sample) had no report: PCA of one code raised ValueError in
    the latent map, so the few-samples caution there was never seen."""
    rows = torch.rand(12, 5).numpy()
    (tmp_path / "small.csv").write_text("\n".join(",".join(f"{v:.4f}" for v in row) for row in rows))
    config = {**TINY_TRAIN, "data": {"name": str(tmp_path / "small.csv")}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", str(tmp_path / "s.yaml"), f"output.dir={tmp_path}", "output.name=s", "--quiet"]) == 0
    assert main(["report", str(tmp_path / "s"), "-o", str(tmp_path / "s.html")]) == 0
    page = (tmp_path / "s.html").read_text()
    assert "No latent map: the validation part holds 1 sample (a map places two or more)" in page
    assert "measured on 1 sample only: too few for these figures to say much" in page


def test_report_of_an_experiment_and_of_several_runs(train_run, experiment_run, tmp_path):
    single = (experiment_run / "report.html").read_text()  # written by the experiment itself
    check_page(single)
    exp_pngs = list(experiment_run.rglob("*.png"))
    assert len(exp_pngs) == 2 and single.count(URI) == len(exp_pngs)
    assert single.count('class="plot curves-plot"') == 1
    assert "tied vs untied" in single and "<table" in single and "experiment.yaml" in single

    page = write_report([train_run, experiment_run], tmp_path / "both.html").read_text()
    check_page(page)
    # every picture of both runs, one curve plot per run, and one plot with all runs' curves
    assert page.count(URI) == 1 + len(exp_pngs)
    assert page.count('class="plot curves-plot"') == 2 + 1 and 'id="all-curves"' in page
    summary = page[page.index('id="summary"') : page.index("</section>")]
    assert "digits-run" in summary and experiment_run.name in summary
    copy = shutil.copytree(train_run, tmp_path / "copy")  # the error's cell shows the digits the result's text does (a
    metrics = json.loads((copy / "metrics.json").read_text())  # surfaces hunt: 34.9 beside 34.901)
    (copy / "metrics.json").write_text(json.dumps({**metrics, "squared_error_per_sample": 34.90123}))
    summary = write_report([copy], tmp_path / "copy.html").read_text().split('id="summary"')[1].split("</section>")[0]
    assert 'data-value="34.90123">34.901</td>' in summary and "squared error per sample 34.901" in summary
    assert f'href="#run-{experiment_run.name}"' in page and f'id="run-{experiment_run.name}"' in page
    for caption in read_run_folder(experiment_run).results["figures"].values():
        assert caption.split("(")[0].strip()[:40] in page


def test_a_run_folder_without_results_yet(tmp_path):
    run = tmp_path / "started"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump(TINY_TRAIN))
    page = write_report([run], tmp_path / "r.html").read_text()
    check_page(page)
    assert page.count(URI) == 0 and "no results yet" in page and 'class="plot curves-plot"' not in page
    fitted = tmp_path / "fitted"  # aekit.fit's folder: trained, never evaluated
    aekit.fit(aekit.create_model("dense", input_shape=(1, 8, 8), hidden=[8], code_size=2),
              aekit.data.load_dataset("digits").x[:64], epochs=1, run_dir=fitted, progress=False)
    page = write_report([fitted], tmp_path / "f.html").read_text()
    assert "no results yet" not in page and "trained on arrays (or part of a data set, which is not recorded), not evaluated: give data.name in its " \
        "config.yaml" in page
    aekit.fit(aekit.create_model("dense", input_shape=(1, 8, 8), hidden=[8], code_size=2),
              aekit.data.load_dataset("digits"), epochs=1, run_dir=tmp_path / "named", progress=False)
    page = write_report([tmp_path / "named"], tmp_path / "n.html").read_text()
    assert f"trained, not evaluated yet: `aekit evaluate {tmp_path / 'named'}`" in page


def test_an_evaluated_interrupted_run_is_still_said_to_have_stopped(train_run, tmp_path, capsys):
    """A lab's trial: `aekit evaluate` of a run stopped before its end said "it is training now" (its own lock), and
    the report then called it finished with "model.safetensors, which they measured, was removed since"."""
    import shutil

    run = Path(shutil.copytree(train_run, tmp_path / "run"))
    for name in ("model.safetensors", "metrics.json", "report.html"):  # as a run killed after a checkpoint leaves it
        (run / name).unlink(missing_ok=True)
    assert main(["evaluate", str(run), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"`aekit resume {run}` finishes it" in err and "training now" not in err
    assert json.loads((run / "metrics.json").read_text())["training"]["weights"] == "checkpoint.safetensors"
    page = write_report([run], tmp_path / "r.html").read_text()
    assert "(stopped before its end)" in page and "removed since" not in page
    spaced = Path(shutil.copytree(run, tmp_path / "out dir" / "my run"))  # a bug hunt: pasted, it read "unrecognized
    (spaced / "metrics.json").unlink()  # arguments: run" (the page's hint left the path unquoted)
    hint = write_report([spaced], tmp_path / "s.html").read_text().replace("&#39;", "'")
    assert f"`aekit resume '{spaced}'` finishes it" in hint and f"`aekit resume {spaced}`" not in hint
    assert "of its checkpoint&#39;s weights (epoch 2); training stopped before its end, its checkpoint at epoch 2" in page


def test_a_failed_run_says_why_until_a_run_trains_there_again(tmp_path, capsys):
    """A lab's trial: a diverged run (its logs kept) read "no results yet (interrupted or still running?)" in the
    report, as one killed or still training does."""
    args = ["train", "data.name=digits", "model.name=dense", "model.hidden=[8]", "model.code_size=2", "train.epochs=2",
            "train.log=[csv]", f"output.dir={tmp_path}", "output.name=r", "--quiet"]
    assert main([*args, "train.optimizer=sgd", "train.lr=1e12"]) == 2
    said = capsys.readouterr().err.removeprefix("aekit: error: ").strip()
    run = tmp_path / "r"
    assert said.startswith((run / "failed.txt").read_text().strip()[:60]) and "the loss became" in said
    page = write_report([run], tmp_path / "r.html").read_text()
    assert "training failed before its first checkpoint: the loss became" in page and "interrupted or" not in page
    assert main(args) == 0  # trained over (its config.yaml, log.csv and failed.txt): the failure is gone
    assert not (run / "failed.txt").exists() and "training failed" not in write_report([run], tmp_path / "s.html").read_text()
    # in Python: a failure after a checkpoint, then a resume that ends well (a review: the file stayed)
    from aekit.training import checkpoint
    from aekit.training.callbacks import Callback

    class Fail(Callback):
        def on_epoch_end(self, trainer, logs):
            if trainer.epoch == 2:
                raise RuntimeError("the sensor feed broke")

    model, x = create_model("dense", input_shape=(1, 8, 8), hidden=[8], code_size=2), aekit.data.load_dataset("digits").x
    with pytest.raises(RuntimeError):
        aekit.fit(model, x[:64], epochs=3, run_dir=tmp_path / "py", callbacks=[Fail()], progress=False)
    assert (tmp_path / "py" / "failed.txt").read_text() == "RuntimeError: the sensor feed broke\n"
    assert "training failed after epoch 1: RuntimeError: the sensor feed broke" in write_report(
        [tmp_path / "py"], tmp_path / "p.html").read_text()
    aekit.fit(model, x[:64], epochs=3, run_dir=tmp_path / "py", resume=True, progress=False)
    assert not (tmp_path / "py" / "failed.txt").exists()
    interrupted = RuntimeError("a library's error")  # raised while handling a Ctrl-C: an interrupt, no failure
    interrupted.__context__ = KeyboardInterrupt()
    checkpoint.note_failure(tmp_path / "py", interrupted)
    assert not (tmp_path / "py" / "failed.txt").exists()


def test_a_damaged_checkpoint_is_not_advised_to_be_resumed(train_run, tmp_path):
    """A lab's trial: a finished run's zero-byte checkpoint read "from before a later training stopped before its
    end after epoch 0: `aekit resume` finishes it", and the resume then failed on the checkpoint."""
    import shutil

    run = Path(shutil.copytree(train_run, tmp_path / "run"))
    (run / "checkpoint.safetensors").write_bytes(b"")
    page = write_report([run], tmp_path / "r.html").read_text()
    assert "before its end" not in page and "aekit resume" not in page  # finished: its model is what there is
    (run / "model.safetensors").unlink()
    page = write_report([run], tmp_path / "s.html").read_text()
    assert f"its checkpoint.safetensors cannot be read (cut short?): put back an intact copy to resume it, or remove {run} " \
        "and train the run again" in page and "aekit resume" not in page
    config = tmp_path / "config.yaml"  # the advice followed
    config.write_bytes((run / "config.yaml").read_bytes())
    shutil.rmtree(run)
    assert main(["train", str(config), f"output.dir={tmp_path}", "output.name=run", "--quiet"]) == 0


def test_a_run_stopped_before_its_end_is_said_so_not_called_kept(train_run, tmp_path):
    """An interrupted run read "6 (weights of its start kept)", and a stopped resume's page showed the older
    model.safetensors' figures and map as the run's, without a word; a run without a model had no map, unsaid."""
    import os
    import shutil

    from aekit.training.checkpoint import load_model, save_model

    run = Path(shutil.copytree(train_run, tmp_path / "run"))
    (run / "report.html").unlink(missing_ok=True)
    earlier = os.stat(run / "checkpoint.safetensors").st_mtime - 10
    os.utime(run / "model.safetensors", (earlier, earlier))  # a copy that reordered the files' times: still ended
    assert "before its end" not in write_report([run], tmp_path / "copied.html").read_text()
    save_model(load_model(run / "model.safetensors"), run / "model.safetensors", epochs=1)  # a resume's checkpoint
    page = write_report([run], tmp_path / "stale.html").read_text()  # of more epochs than the model
    assert "these are of model.safetensors, from before a later training stopped before its end" in page
    assert "(stopped before its end)" in page and "kept)" not in page
    (run / "model.safetensors").unlink()  # a finished run's model removed: said so, not "stopped" (a web trial)
    page = write_report([run], tmp_path / "finished.html").read_text()
    assert "; model.safetensors, which they measured, was removed since: `aekit resume" in page
    assert "before its end" not in page and "No latent map: the run has no model.safetensors<" in page
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["training"]["epochs"] = 1  # figures of a model before a later training stopped, and no model: said so
    (run / "metrics.json").write_text(json.dumps(metrics))
    page = write_report([run], tmp_path / "removed.html").read_text()
    assert "; model.safetensors, which they measured, is not there: training stopped before its end" in page
    (run / "metrics.json").unlink()  # interrupted before its end: a checkpoint, no model
    page = write_report([run], tmp_path / "stopped.html").read_text()
    assert "no results yet: training stopped before its end, its checkpoint at epoch 2" in page
    import subprocess
    import sys

    code = f"from aekit.training.checkpoint import hold\nwith hold({str(run)!r}):\n    print('held', flush=True)\n    input()"
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:  # a trial: a run still training was said to have stopped, with `aekit resume` to finish it (refused: in use)
        assert holder.stdout.readline() == "held\n"
        page = write_report([run], tmp_path / "running.html").read_text()
        assert "no results yet: its folder is in use (training still running?), 2 epochs checkpointed so far" in page and "aekit resume" not in page
        assert "(stopped before its end)" not in page  # (its epochs column said so beside "in use")
    finally:
        holder.communicate("\n", timeout=30)
    assert "No latent map: the run has no model.safetensors yet" in page
    gone = Path(shutil.copytree(train_run, tmp_path / "gone"))  # evaluated, then both weight files removed: said
    (gone / "model.safetensors").unlink()
    (gone / "checkpoint.safetensors").unlink()
    assert "No latent map: the run has no model.safetensors<" in write_report([gone], tmp_path / "gone.html").read_text()


def test_two_runs_of_one_name_are_told_apart_and_one_given_twice_is_refused(train_run, tmp_path):
    """A trial: two runs named alike shared one name in the summary and one curve in the combined plot; a run given
    twice was shown twice."""
    import shutil

    other = Path(shutil.copytree(train_run, tmp_path / "other" / train_run.name))
    page = write_report([train_run, other], tmp_path / "both.html").read_text()
    mine = f"{Path(train_run).resolve().parent.name}/{train_run.name}"
    assert f">other/{train_run.name}<" in page and f">{mine}<" in page
    assert f"other/{train_run.name} (train)" in page and f"{mine} (train)" in page  # both in the combined curves
    with pytest.raises(ConfigError, match="is given twice; give each run folder once"):
        write_report([train_run, f"{train_run}/"], tmp_path / "twice.html")


def test_every_id_in_a_page_is_unique_whatever_the_runs_are_named(train_run, tmp_path):
    """A browser trial: runs named foo and foo-latent shared an id (foo's map was foo-latent's section), and text-3,
    text and another text were numbered into text-3 twice; each nav link went to the wrong run."""
    import re
    import shutil

    names = ["foo", "foo-latent", "foo-curves", "text-3", "text", "other/text"]
    runs = [Path(shutil.copytree(train_run, tmp_path / "runs" / n)) for n in names]
    page = write_report(runs, tmp_path / "all.html").read_text()
    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    links = re.findall(r'<nav>.*?</nav>', page, re.S)[0]
    targets = dict((label, href) for href, label in re.findall(r'<a href="#([^"]+)"><bdi>([^<]+)</bdi></a>', links))
    for run in runs:  # each run's link leads to the section of its own folder
        label = {"text": "runs/text", "other/text": "other/text"}.get(str(run.relative_to(tmp_path / "runs")), run.name)
        section = page[page.index(f'<section id="{targets[label]}">'):]
        assert str(run.resolve()) in section[: section.index("</section>")]


def test_bad_inputs_are_one_line_errors(tmp_path, train_run):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="not a run folder"):
        write_report([tmp_path / "empty"], tmp_path / "r.html")
    with pytest.raises(ConfigError, match="not a folder"):
        write_report([tmp_path / "missing"], tmp_path / "r.html")
    with pytest.raises(ConfigError, match=r"\.html"):
        write_report([train_run], tmp_path / "r.pdf")
    with pytest.raises(ConfigError, match="at least one"):
        write_report([], tmp_path / "r.html")
    assert main(["report", str(tmp_path / "empty")]) == 2


def test_of_several_paths_those_that_cannot_be_read_are_left_out_and_named(tmp_path, train_run, capsys):
    """A lab's trial: `aekit report runs/*` wrote no page when runs/ held mlruns/ (train.log=mlflow makes it), an
    earlier report.html, or one run's truncated history.json; only the first culprit was named."""
    import shutil

    runs = tmp_path / "runs"
    good = Path(shutil.copytree(train_run, runs / "good"))
    broken = Path(shutil.copytree(train_run, runs / "broken"))
    (broken / "history.json").write_text('{"train_loss": [1.0, ')
    (runs / "mlruns").mkdir()
    (runs / "report.html").write_text("<html></html>")
    paths = sorted(str(p) for p in runs.iterdir())
    assert main(["report", *paths, "-o", str(tmp_path / "r.html"), "--quiet"]) == 0
    err = capsys.readouterr().err
    for path in (runs / "mlruns", runs / "report.html", broken / "history.json"):
        assert f"aekit: note: left out of the report: {path}" in err, err
    page = (tmp_path / "r.html").read_text()
    assert str(good.resolve()) in page and "<h2><bdi>broken</bdi>" not in page
    assert "Left out of this page" in page and f"<li>{runs / 'mlruns'} is not a run folder" in page
    assert main(["report", str(runs / "mlruns"), str(runs / "report.html"), "-o", str(tmp_path / "n.html")]) == 2
    assert "is not a run folder" in capsys.readouterr().err and not (tmp_path / "n.html").exists()
    assert main(["report", str(runs / "*"), "-o", str(tmp_path / "w.html"), "--quiet"]) == 0  # as Windows' shells pass it
    assert str(good.resolve()) in (tmp_path / "w.html").read_text() and "left out of the report" in capsys.readouterr().err
    assert main(["report", str(good), str(runs / "godo"), "-o", str(tmp_path / "t.html")]) == 2  # a typo (a review)
    assert f"{runs / 'godo'} is not a folder" in capsys.readouterr().err and not (tmp_path / "t.html").exists()


def test_result_tables_render_from_rows_with_escaping(tmp_path):
    """Experiments store tables as rows in results.json; the page renders them (escaped), with notes."""
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "experiment.yaml").write_text("experiment: demo\nsettings: {}\n")
    (folder / "results.json").write_text(json.dumps({"summary": "s", "tables": [
        {"title": "Errors", "columns": ["method", "error"], "rows": [["AE <b>", 3.5], ["PCA", 13.9]], "notes": ["Text <i>"]}]}))
    page = write_report([folder], tmp_path / "r.html").read_text()
    assert "<h4>Errors</h4>" in page and "<th>method</th>" in page and '<td class="num">3.5</td>' in page
    assert "AE &lt;b&gt;" in page and "AE <b>" not in page and "Text &lt;i&gt;" in page


def test_cli_report(train_run, experiment_run, tmp_path, capsys):
    assert main(["report", str(train_run)]) == 0
    assert (train_run / "report.html").is_file() and "wrote" in capsys.readouterr().out
    out = tmp_path / "cmp.html"
    assert main(["report", str(train_run), str(experiment_run), "--output", str(out)]) == 0
    check_page(out.read_text())
    assert main(["report", str(train_run), "-o", str(tmp_path / "short.html")]) == 0  # -o, as other tools spell it
    assert (tmp_path / "short.html").is_file()
    capsys.readouterr()
    assert main(["report", str(train_run), "-o", str(tmp_path / "short.html"), "--quiet"]) == 0  # as train's (a trial)
    assert capsys.readouterr().out == f"wrote {tmp_path / 'short.html'}\n"
    # a folder of run folders: refused before any line, saying to give the runs (a web trial: "reading 1 run folder")
    assert main(["report", str(train_run.parent)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"it holds run folders: give them, as in `aekit report {train_run.parent}/*`" in err


def test_cli_report_of_several_runs_rewrites_its_own_page_but_not_a_users_file(train_run, tmp_path, monkeypatch, capsys):
    import shutil

    monkeypatch.chdir(tmp_path)
    page = tmp_path / "report.html"
    other = shutil.copytree(train_run, tmp_path / "copy")
    assert main(["report", str(train_run), str(other)]) == 0 and page.is_file()
    assert main(["report", str(train_run), str(other)]) == 0  # its own page: written again
    own = train_run / "report.html"
    own.write_text("<html><head><title>aekit report</title></head></html>")  # a page from before the generator tag
    assert main(["report", str(train_run)]) == 0 and "generator" in own.read_text()
    page.write_text("<html>the user's notes</html>")
    assert main(["report", str(train_run), str(other)]) == 2
    assert "aekit did not write it; give --output" in capsys.readouterr().err
    assert page.read_text() == "<html>the user's notes</html>"
    assert main(["report", str(train_run), "--output", str(page)]) == 2  # named, it was written over (a trial)
    assert "aekit did not write it; give another --output FILE.html" in capsys.readouterr().err
    assert page.read_text() == "<html>the user's notes</html>"
    page.write_text("<html><head><title>aekit notes (mine)</title></head><body>mine</body></html>")  # a bug hunt
    assert main(["report", str(train_run), "--output", str(page)]) == 2  # a title starting "aekit" was taken as ours
    assert "aekit did not write it" in capsys.readouterr().err and "mine" in page.read_text()
    experiment = tmp_path / "exp"  # an experiment's own page from before the generator tag (an old-folders hunt)
    experiment.mkdir()
    (experiment / "experiment.yaml").write_text("experiment: tied-mnist\n")
    old = "<html><head><title>aekit experiment: tied-mnist</title></head></html>"
    (experiment / "report.html").write_text(old)
    assert main(["report", str(experiment), "--quiet"]) == 0 and "generator" in (experiment / "report.html").read_text()
    page.write_text(old)  # the same title where no experiment.yaml is beside it: a user's copy, kept
    assert main(["report", str(train_run), "--output", str(page)]) == 2 and page.read_text() == old
    capsys.readouterr()


@pytest.mark.parametrize("name", list_models())
def test_latent_map_data_for_every_model(name, mnist_mini):
    """The report's latent map: positions, labels, PNG thumbnails and a decoded lattice, for every model."""
    model = create_model(name, input_shape=(1, 28, 28))
    data = mnist_mini.take(24, seed=0)
    explored = latent_explorer(model, data, n=24, grid=3)
    assert len(explored["points"]) == len(explored["images"]) == len(explored["labels"]) == 24
    assert all(len(p) == 2 for p in explored["points"]) and explored["classes"] == data.classes
    assert len(explored["grid"]["images"]) == 9 and len(explored["grid"]["u"]) == len(explored["grid"]["v"]) == 3
    assert all(png[:8] == b"\x89PNG\r\n\x1a\n" for png in explored["images"] + explored["grid"]["images"])
    json.dumps({**explored, "images": [], "grid": {**explored["grid"], "images": []}})  # the rest is JSON-able


def test_the_summary_says_which_epochs_weights_restore_best_kept(tmp_path):
    """Its loss columns are the last epoch's; with restore_best the run ends with an earlier epoch's weights."""
    from aekit.training.callbacks import LambdaCallback

    def worse(trainer, logs):  # the last epoch's weights made poor: the best stays earlier
        if trainer.epoch == 2:  # (counted from 0 while it trains: the third epoch)
            with torch.no_grad():
                for p in trainer.model.parameters():
                    p.add_(torch.randn_like(p))

    x = aekit.data.load_dataset("digits").x[:96]
    model = aekit.create_model("dense", input_shape=(1, 8, 8), hidden=[8], code_size=2)
    aekit.fit(model, x[:64], x[64:], epochs=3, run_dir=tmp_path / "kept", restore_best=True, progress=False,
              callbacks=[LambdaCallback(on_batch_end=lambda t, b, logs: worse(t, logs))])
    page = write_report([tmp_path / "kept"], tmp_path / "k.html").read_text()
    assert re.search(r"<td[^>]*>3 \(weights of (its start|epoch [12]) kept\)</td>", page)
    assert "last epoch&#39;s val loss" in page and "<td class=\"\">arrays</td>" in page  # (fitted on arrays: no name)


def test_a_latent_maps_colours_follow_the_labels_shown():
    """Labels 1990-2019 were coloured by 0..2019, all one yellow, the bar's end reading 0; the switch to a scale
    counted label + 1, not the values shown; -1 took a colour of its own."""
    model = aekit.create_model("dense", input_shape=(6,), hidden=[8], code_size=2)
    years = torch.arange(1990, 2020).repeat(4)
    years[:5] = -1  # unlabelled
    explored = latent_explorer(model, (torch.rand(len(years), 6), years), n=len(years), grid=3)
    assert explored["scale"] and list(explored["colours"]) == [str(v) for v in range(1990, 2020)]
    assert len(set(explored["colours"].values())) == 30 and explored["shapes"] == {}  # a scale's: all round (a review)
    few = latent_explorer(model, (torch.rand(40, 6), torch.tensor([0, 7, -1, 3] * 10)), n=40, grid=3)
    assert not few["scale"] and list(few["colours"]) == ["0", "3", "7"]
    assert few["shapes"] == {"0": "o", "3": "s", "7": "^"}  # a shape a class too (no names: by rank, as colours)
    with pytest.raises(aekit.DataError, match=r"^labels: class numbers colour the map .*got values such as 0.025"):
        latent_explorer(model, (torch.rand(40, 6), torch.linspace(0, 1, 40)), n=40, grid=3)  # (0.3 was read as 0)
    whole = latent_explorer(model, (torch.rand(40, 6), torch.tensor([0.0, 7, -1, 3] * 10)), n=40, grid=3)  # (pandas')
    assert whole["labels"] == few["labels"] and whole["colours"] == few["colours"]
    for odd in (torch.tensor([0.0, float("inf")] * 20), torch.tensor([1, 2] * 20) + 0j):  # (a review: inf, complex)
        with pytest.raises(aekit.DataError, match=r"^labels: class numbers colour the map"):
            latent_explorer(model, (torch.rand(40, 6), odd), n=40, grid=3)


def test_an_unpool_models_map_says_how_it_decodes(tmp_path):
    """The map decodes a clicked point without the pooling indices an unpool model's reconstructions reuse
    (fixed switches: spiky curves), unsaid (a signals trial)."""
    from aekit.apps.cli import main

    assert main(["train", "data.name=digits", "model.name=conv", "model.channels=[4]", "model.code_size=2",
                 "model.decoder=unpool", "train.epochs=1", f"output.dir={tmp_path}", "output.name=u", "--quiet"]) == 0
    page = write_report([tmp_path / "u"], tmp_path / "r.html").read_text()
    assert "the unpool decoder decodes it without pooling indices (fixed switches" in page


def test_a_map_without_labels_promises_no_labels_and_no_class_to_hide():
    """A web trial: a CSV run without labels read 'Hover a point for its input ... and label; click a class to hide it'."""
    from aekit.apps.report import _environment

    page = {"title": "", "generator": "", "written": "", "version": "", "runs": [], "style": "", "script": "",
            "summary": {"headers": [], "rows": [], "curves": None, "curves_note": "", "left_out": []}}
    macro = _environment().get_template("report.html.j2").make_module(page).latent_map
    base = {"id": "map1", "code_size": 2, "n": 10, "split": "test", "pictures": True, "scale": False, "unpool": False}
    unlabelled, labelled = str(macro({**base, "labels": None})), str(macro({**base, "labels": [0, 1]}))
    assert "and label;" not in unlabelled and "click a class" not in unlabelled
    assert "and label;" in labelled and "click a class to hide it" in labelled


def test_the_reports_script_parses():
    """A review: a comment put after a one-line if's brace swallowed the rest of the line, and no report page drew its
    plots (the browser tests need Chromium; node, where there is one, checks the script alone)."""
    import shutil
    import subprocess

    from aekit.apps import report

    node = shutil.which("node")
    if node is None:
        pytest.skip("no node to check the script with")
    script = Path(report.__file__).parent / "templates" / "report.js"
    checked = subprocess.run([node, "--check", str(script)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr


def test_the_summary_says_what_makes_two_runs_figures_unlike(train_run, tmp_path):
    """A comparison trial: an mse run's loss beside a bce one's looked alike (the model cell showed no recon_loss),
    runs measured on 1,000 and on 500 test samples, or with other data.scale, shared one data cell, and the NLL
    headline dropped k (a bound that falls as k grows)."""
    import shutil

    other = tmp_path / "other"
    shutil.copytree(train_run, other, ignore=shutil.ignore_patterns(".aekit.lock"))
    config = yaml.safe_load((other / "config.yaml").read_text())
    config["model"]["recon_loss"] = "mse"
    config["data"].update(test_limit=100, scale="standard")
    (other / "config.yaml").write_text(yaml.safe_dump(config))
    metrics = json.loads((other / "metrics.json").read_text())
    (other / "metrics.json").write_text(json.dumps({**metrics, "nll": {"nats": 90.5, "k": 50, "binarized": True}}))
    page = write_report([train_run, other], tmp_path / "two.html").read_text()
    summary = page[page.index('id="summary"') : page.index("</section>")]
    assert "dense (32-4, bce)" in summary and "dense (32-4, mse)" in summary
    assert "digits (test limit 100; scale standard)" in summary and "scale global" not in summary  # the usual one unsaid
    assert "test NLL 90.50 nats (k = 50)" in summary
    assert "(its own objective)" in summary and re.search(r"each run.{1,8}s own loss", page)


def test_a_page_read_without_a_mouse_or_scripts(train_run, tmp_path):
    """An accessibility trial: the curves' values were on a mouse's hover alone and the charts blank without
    scripts, unsaid; a screen reader read a heading as 'digits-runtrain'."""
    page = write_report([train_run], tmp_path / "r.html").read_text()
    assert "<noscript>" in page and "each learning curve's values are in the table under it; a latent map needs the script" in page
    assert f'<h2><bdi>{train_run.name}</bdi> <span class="kind train">' in page
    values = page[page.index("<summary>the values, as a table</summary>"):]
    values = values[: values.index("</details>")]
    epochs = json.loads((train_run / "history.json").read_text())["epoch"]
    assert values.count("<tr>") == 1 + len(epochs) and "<th>epoch</th>" in values


def test_an_experiment_stopped_before_its_results_says_how_to_finish_it(tmp_path):
    """A student trial: a resumable experiment interrupted after some runs read "No metrics or results in this
    folder", and its epochs column showed train.epochs (1) where pretraining trained 150 and 50."""
    run = tmp_path / "pretrain-mnist-x"
    run.mkdir()
    (run / "experiment.yaml").write_text(yaml.safe_dump({"experiment": "pretrain-mnist", "settings": {
        "data": {"name": "mnist-mini"}, "train": {"epochs": 1}}}))
    (run / "runs.json").write_text(json.dumps({"sda-0": {"seconds": 1.0}}))
    page = write_report([run], tmp_path / "r.html").read_text()
    assert (f"the experiment stopped before its end, the runs it finished kept in runs.json: `aekit experiment resume "
            f"{run}` goes on from them") in page
    assert "· epochs" not in page
    (run / "results.json").write_text(json.dumps({"summary": "done", "tables": []}))
    assert "experiment stopped" not in write_report([run], tmp_path / "r.html").read_text()


def test_a_pages_title_names_its_run_or_how_many(train_run, tmp_path):
    """An accessibility review: every page was titled "aekit report", and several open ones could not be told apart;
    the command took no title."""
    page = write_report([train_run], tmp_path / "one.html").read_text()
    assert f"<title>aekit report: {train_run.name}</title>" in page
    assert main(["report", str(train_run), str(tmp_path), "--output", str(tmp_path / "two.html"), "--title",
                 "week 2 <runs>"]) == 0
    assert "<title>week 2 &lt;runs&gt;</title>" in (tmp_path / "two.html").read_text()
