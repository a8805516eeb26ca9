"""`aekit evaluate` (run.evaluate_run) adds the test NLL and sample quality where they apply, and the
report shows them: tiny models, k = 5, 64 samples, the session's cached mnist-mini classifier."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

import aekit
from aekit.apps import run
from aekit.apps.cli import build_parser, main
from aekit.apps.report import write_report

TINY = {
    "data": {"name": "mnist-mini", "limit": 300, "test_limit": 64, "val_fraction": 0.1},
    "train": {"epochs": 1, "batch_size": 64, "progress": False},
}
MEASURES = {"nll_samples": 5, "quality_samples": 64, "classifier": "mnist-mini", "progress": False}


def train_run(root, name: str, model: dict, data: dict | None = None):
    config = {**TINY, "model": model, "data": {**TINY["data"], **(data or {})},
              "output": {"dir": str(root), "name": name}}
    (root / f"{name}.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", str(root / f"{name}.yaml"), "--quiet"]) == 0
    return root / name


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {
        "vae": train_run(root, "vae", {"name": "vae", "hidden": [32], "code_size": 4}),
        "dense": train_run(root, "dense", {"name": "dense", "hidden": [32], "code_size": 4}),
        "digits": train_run(root, "digits", {"name": "vae", "hidden": [16], "code_size": 2},
                            {"name": "digits", "limit": None, "test_limit": None}),
    }


def test_train_leaves_the_slow_measures_to_evaluate(runs):
    metrics = json.loads((runs["vae"] / "metrics.json").read_text())
    assert not {"nll", "sample_quality", "nll_skipped", "sample_quality_skipped"} & set(metrics)


def test_a_vae_gets_its_nll_and_sample_quality_with_the_checksum(runs, feature_clf, capsys):
    metrics = run.evaluate_run(runs["vae"], classifier_cache=feature_clf.path.parent, **MEASURES)
    nll = metrics["nll"]
    assert nll["k"] == 5 and nll["n"] == 64 and nll["binarized"] is True and 100 < nll["nats"] < 2000
    quality = metrics["sample_quality"]
    assert quality["classifier_sha256"] == feature_clf.sha256 and quality["classifier"] == "mnist-mini"
    assert quality["n_samples"] == 64 and quality["frechet_distance"] > 0
    assert 0 <= quality["precision"] <= 1 and 0 <= quality["recall"] <= 1 and "own sample" in quality["sampler"]
    assert json.loads((runs["vae"] / "metrics.json").read_text())["nll"] == nll  # written for the report
    again = run.evaluate_run(runs["vae"], classifier_cache=feature_clf.path.parent, write=False,
                             **{**MEASURES, "progress": True})
    assert again["nll"] == nll and again["sample_quality"] == quality  # seeded: the same figures
    said = capsys.readouterr().out  # the minutes-long parts, said where no bar shows (a log file)
    assert "estimating the test NLL of 64 samples (5 draws each) ..." in said
    assert "generating 64 samples and scoring them against as many test samples ..." in said


def test_a_plain_autoencoder_samples_through_a_mixture_and_has_no_nll(runs, feature_clf, capsys):
    status = main(["evaluate", str(runs["dense"]), "--nll-samples", "5", "--quality-samples", "64",
                   "--classifier", "mnist-mini", "--classifier-cache", str(feature_clf.path.parent), "--quiet"])
    printed = capsys.readouterr().out
    assert status == 0 and "no test NLL: model 'dense' has no probabilistic decoder" in printed
    assert "\n  test NLL:" not in printed and "\n  sample quality: Fréchet distance" in printed
    assert feature_clf.sha256 in printed
    metrics = json.loads((runs["dense"] / "metrics.json").read_text())
    assert "nll" not in metrics and "probabilistic decoder" in metrics["nll_skipped"]
    assert "Gaussian mixture (full covariances)" in metrics["sample_quality"]["sampler"]
    assert metrics["sample_quality"]["classifier_sha256"] == feature_clf.sha256


def test_other_shapes_skip_sample_quality_in_one_line(runs, tmp_path, capsys):
    cache = tmp_path / "classifiers"
    status = main(["evaluate", str(runs["digits"]), "--nll-samples", "5", "--quality-samples", "64",
                   "--classifier-cache", str(cache), "--quiet"])
    out, err = capsys.readouterr()
    assert status == 0 and "Traceback" not in out + err
    skipped = [line for line in out.splitlines() if line.strip().startswith("no sample quality:")]
    assert len(skipped) == 1 and "1x28x28" in skipped[0] and "1x8x8" in skipped[0]
    # 8x8 digits come in 17 grey levels: binarising them for a Bernoulli NLL would measure other data
    assert "no test NLL: 17% of the values lie between 0.25 and 0.75" in out and "\n  test NLL:" not in out
    assert not cache.exists()  # no classifier was trained for data it cannot judge
    metrics = json.loads((runs["digits"] / "metrics.json").read_text())
    assert "sample_quality" not in metrics and "1x8x8" in metrics["sample_quality_skipped"]


def test_zero_samples_skip_both_without_a_word(runs):
    metrics = run.evaluate_run(runs["vae"], write=False, nll_samples=0, quality_samples=0)
    assert not {"nll", "sample_quality", "nll_skipped", "sample_quality_skipped"} & set(metrics)


def test_a_quick_evaluate_keeps_the_nll_an_earlier_one_measured_on_the_same_weights(tmp_path, feature_clf, capsys):
    """A trial: `aekit evaluate RUN --nll-samples 0 --quality-samples 0` (the README's seconds-long form) rewrote
    metrics.json without the half-hour NLL of the evaluate before it."""
    vae = train_run(tmp_path, "vae", {"name": "vae", "hidden": [16], "code_size": 2})
    measured = run.evaluate_run(vae, classifier_cache=feature_clf.path.parent, **MEASURES)
    assert main(["evaluate", str(vae), "--nll-samples", "0", "--quality-samples", "0", "--quiet"]) == 0
    said = capsys.readouterr().out
    metrics = json.loads((vae / "metrics.json").read_text())
    assert metrics["nll"] == measured["nll"] and metrics["sample_quality"] == measured["sample_quality"]
    assert "test NLL:" in said and "(the NLL and the sample quality kept from an earlier evaluate" in said
    assert main(["evaluate", str(vae), "--nll-samples", "5", "--quality-samples", "0", "--quiet"]) == 0
    assert "(the sample quality kept from an earlier evaluate of these weights: 0 samples did not measure it again)" \
        in capsys.readouterr().out  # the NLL measured again
    assert main(["evaluate", str(vae), "--nll-samples", "0", "--quality-samples", "0", "--quiet"]) == 0
    assert "kept from an earlier evaluate" in capsys.readouterr().out
    config = yaml.safe_load((vae / "config.yaml").read_text())
    config["data"]["test_limit"] = 32  # other test samples (a review: the NLL of the 64 was kept for other ones)
    (vae / "config.yaml").write_text(yaml.safe_dump(config))
    assert main(["evaluate", str(vae), "--nll-samples", "0", "--quality-samples", "0", "--quiet"]) == 0
    assert "kept from an earlier evaluate" not in capsys.readouterr().out
    assert not {"nll", "sample_quality", run.KEPT} & set(json.loads((vae / "metrics.json").read_text()))
    config["data"]["test_limit"] = 64
    (vae / "config.yaml").write_text(yaml.safe_dump(config))
    assert main(["resume", str(vae), "--epochs", "2", "--quiet"]) == 0  # other weights: measured again or not at all
    metrics = json.loads((vae / "metrics.json").read_text())
    assert not {"nll", "sample_quality", run.KEPT} & set(metrics)


def test_samples_outside_the_unit_range_are_clipped_for_quality_and_said(tmp_path, feature_clf):
    """A trial: a linear-output VAE's samples (over [-0.2, 0.7]) were scored in the classifier's features, which take
    images in [0, 1], without a word; sample_quality itself refuses them."""
    from aekit.analysis.quality import sample_quality

    vae = train_run(tmp_path, "lin", {"name": "vae", "hidden": [16], "code_size": 2, "recon_loss": "mse",
                                      "output_activation": "linear"})
    model = aekit.load_model(vae)
    samples = model.sample(64) * 3 - 1  # surely outside [0, 1]
    with pytest.raises(aekit.DataError, match=r"^sample_quality: samples: the feature classifier takes images in \[0, 1\]"):
        sample_quality(samples, samples.clamp(0, 1), feature_clf)
    quality = run.evaluate_run(vae, classifier_cache=feature_clf.path.parent, **{**MEASURES, "nll_samples": 0})
    assert "they were clipped to [0, 1], as saved images would be" in quality["sample_quality"]["note"]
    assert 0 <= quality["sample_quality"]["precision"] <= 1


def test_sample_quality_is_judged_against_test_samples_spread_over_the_part(runs, feature_clf, monkeypatch, tmp_path):
    """A bug hunt: --quality-samples N below the test part's size judged the samples against its first N images; a
    folder of class folders is read class by class, so they were its first class or two (FD 127 where 16 was
    right). The note evaluate prints beside the figures (samples clipped, a classifier of other data) is shown by
    the report too, where it was left out."""
    from aekit.analysis.latent import pick

    judged = []
    quality = run.sample_quality
    monkeypatch.setattr(run, "sample_quality", lambda s, real, *a, **k: judged.append(real) or quality(s, real, *a, **k))
    cfg = run.read_run(runs["vae"])
    test = run.load_test(cfg, runs["vae"])
    run.evaluate_run(runs["vae"], classifier_cache=feature_clf.path.parent, write=False,
                     **{**MEASURES, "nll_samples": 0, "quality_samples": 16})
    assert len(test) == 64 and torch.equal(judged[0], test.x[pick(64, 16)])  # rows 0, 4, ..., 63: the whole part

    vae = train_run(tmp_path, "lin", {"name": "vae", "hidden": [16], "code_size": 2, "recon_loss": "mse",
                                      "output_activation": "linear"})
    metrics = run.evaluate_run(vae, classifier_cache=feature_clf.path.parent, **{**MEASURES, "nll_samples": 0})
    note = metrics["sample_quality"]["note"]
    assert note and "they were clipped to [0, 1]" in note
    page = write_report([vae], tmp_path / "lin.html").read_text()
    assert f"Note: {note}" in page.replace("&#39;", "'")


@pytest.mark.parametrize(("args", "message"), [
    (["--nll-samples", "-1"], "--nll-samples: must be >= 0 (0 skips it), got -1"),
    (["--quality-samples", "-64"], "--quality-samples: must be >= 0 (0 skips it), got -64"),
    (["--classifier", "cifar10"], "classifier: 'cifar10' is not a data set the feature classifier is trained on"),
    (["--classifier", "mnist", "--quality-samples", "0"], "--classifier: sets how sample quality is judged, and "
     "--quality-samples 0 skips it; leave --classifier out, or give --quality-samples N"),  # (a bug hunt: unsaid)
    (["--classifier-cache", "/nowhere", "--quality-samples", "0"], "--classifier-cache: sets how sample quality is"),
])
def test_bad_settings_are_one_line_errors_before_any_work(args, message, tmp_path, capsys):
    status = main(["evaluate", str(tmp_path / "nowhere"), *args])  # no run folder: the settings are checked first
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and message in err, err
    with pytest.raises(aekit.ConfigError, match="nll_samples: must be an integer >= 0"):
        run.evaluate_run(tmp_path / "nowhere", nll_samples=-5)


def test_cli_defaults_are_the_run_layers():
    args = build_parser().parse_args(["evaluate", "r"])
    assert (args.nll_samples, args.quality_samples, args.classifier) == (
        run.NLL_SAMPLES, run.QUALITY_SAMPLES, run.FEATURE_CLASSIFIER)


def test_the_report_shows_the_figures_as_a_table(runs, feature_clf, tmp_path):
    run.evaluate_run(runs["vae"], classifier_cache=feature_clf.path.parent, **MEASURES)
    metrics = json.loads((runs["vae"] / "metrics.json").read_text())
    page = write_report([runs["vae"]], tmp_path / "vae.html").read_text()
    section = page[page.index("<h4>Likelihood and sample quality (metrics.json)</h4>"):]
    table = section[: section.index("</table>")]
    assert "<th>measure</th><th>value</th><th>how</th>" in table
    for label in ("test NLL (nats per sample)", "Fréchet distance", "precision", "recall"):
        assert f'<td class="" dir="auto">{label}</td>' in table
    assert f'<td class="num">{metrics["nll"]["nats"]:.4g}</td>' in table and "k = 5 importance samples" in table
    assert feature_clf.sha256 in section[: section.index("</section>")]  # the checksum beside the figures
    assert f"test NLL {metrics['nll']['nats']:.2f} nats" in page  # the headline

    run.evaluate_run(runs["digits"], **{**MEASURES, "classifier_cache": tmp_path / "unused"})
    page = write_report([runs["digits"]], tmp_path / "digits.html").read_text()
    section = page[page.index("<h4>Likelihood and sample quality (metrics.json)</h4>"):]
    assert "No sample quality: the feature classifier takes 1x28x28" in section[: section.index("</section>")]


def test_a_low_recall_is_read_beside_the_precision():
    """1,000 copies of one image scored precision 1.000 and recall 0.000, and were read as realistic samples."""
    from aekit.analysis.quality import reading
    from aekit.apps.run import format_metrics

    assert reading(0.9, 0.4) == ""
    metrics = {"split": "test", "n": 1000, "squared_error_per_sample": 40.0, "sample_quality": {"frechet_distance": 348.4, "precision": 1.0, "recall": 0.0, "n_samples": 1000,
                                  "sampler": "the prior", "classifier": "mnist", "classifier_sha256": "ab"}}
    assert "read: recall 0.000: the samples reach almost none of the real images' variety" in format_metrics(metrics)


def test_figures_of_a_validation_split_are_named_so_and_a_gaussian_nll_is_said_in_the_report_too(tmp_path):
    """A model x data trial: on a file without a test part, evaluate printed 'val NLL' but 'no test NLL' and
    'nearer the test samples', and the report 'test NLL' and 'test inputs'; a Gaussian decoder's NLL (recon_loss
    mse), which evaluate says is no Bernoulli one, read in the report as any other."""
    from aekit.apps.report import _generative, _measured
    from aekit.apps.run import format_metrics

    quality = {"frechet_distance": 3.0, "precision": 0.5, "recall": 0.5, "n_samples": 200, "sampler": "the prior",
               "classifier": "mnist", "classifier_sha256": "ab"}
    metrics = {"split": "val", "n": 200, "squared_error_per_sample": 40.0, "sample_quality": quality,
               "nll": {"nats": 1969.5, "k": 20, "binarized": False, "n": 200}}
    said = format_metrics({**metrics, "nll_skipped": "why"})
    assert "nearer the val samples" in said and "no val NLL: why" in said and "test" not in said
    table = _generative({**metrics, "nll_skipped": "why"}, "validation")
    text = json.dumps(table)
    assert "test" not in text and "validation NLL (nats per sample)" in text and "No validation NLL: why" in text
    assert "200 validation inputs as they are, under a Gaussian decoder of variance 1/2" in text
    assert "as many validation images" in text
    line = _measured(type("Run", (), {"metrics": metrics})())
    assert "; val NLL 1969.50 nats (k = 20, a Gaussian decoder's); " in line and "test" not in line
    # a density in the inputs' units (a bug hunt: standardised inputs were said to be "[0, 1]-scaled")
    assert "a density of the [0, 1]-scaled values" in format_metrics(metrics)
    for scaling, units in (("standard", "standardised values"), ("none", "values as stored")):  # (a review: none too)
        for text in (format_metrics({**metrics, "scaling": scaling}), json.dumps(_generative({**metrics, "scaling": scaling}, "validation"))):
            assert f"a density of the {units}" in text and "[0, 1]-scaled" not in text


def test_the_classifier_cache_is_the_users_not_the_data_folder_but_an_earlier_one_is_read(tmp_path, monkeypatch):
    from aekit.training.feature_classifier import classifier_files

    monkeypatch.setenv("AEKIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    weights, record = classifier_files("mnist")
    assert weights.parent == tmp_path / "cache" / "aekit" / "classifiers" and record.parent == weights.parent
    earlier = tmp_path / "data" / "classifiers"
    earlier.mkdir(parents=True)
    for path in (weights, record):
        (earlier / path.name).write_bytes(b"")
    assert classifier_files("mnist")[0] == earlier / weights.name
    assert classifier_files("mnist", cache_dir=tmp_path / "c")[0] == tmp_path / "c" / weights.name


def test_sample_quality_is_judged_by_the_classifier_of_the_runs_own_data_by_default(real_batch, monkeypatch):
    """A Fashion-MNIST run's samples were judged in the features of an MNIST classifier unless --classifier said
    otherwise (a note suggested it): the run's own data set's classifier is the default where there is one."""
    from aekit.data import Dataset
    from aekit.errors import DataNotFoundError

    asked = []

    def recorded(data, **kw):
        asked.append(data)
        raise DataNotFoundError("not here")  # (no training in a test: the measure is skipped, saying why)

    monkeypatch.setattr(run, "feature_classifier", recorded)
    monkeypatch.setattr(run, "is_cached", lambda *a, **k: True)
    model = aekit.create_model("vae", input_shape=(1, 28, 28), hidden=(8,), code_size=2)
    for name in ("fashion-mnist", "kmnist", "mnist-mini", "digits"):
        data = Dataset(real_batch[:8], None, name)
        metrics = run.generative_metrics(model, data, data, nll_samples=0, quality_samples=8, progress=False)
        assert "sample_quality_skipped" in metrics
    assert asked == ["fashion-mnist", "kmnist", "mnist-mini", "mnist"]  # digits: no classifier of its own
    run.generative_metrics(model, data, data, nll_samples=0, quality_samples=8, progress=False, classifier="kmnist")
    assert asked[-1] == "kmnist"  # given, it is taken


def test_a_set_against_itself_is_at_distance_zero():
    """frechet_distance(a, a) rounded to -6e-07 (a bug hunt): a distance is never below 0."""
    from aekit.analysis.quality import frechet_distance

    a = np.random.default_rng(0).normal(size=(1000, 64)) * np.r_[np.zeros(10), np.ones(54)]  # dead features too
    assert frechet_distance(a, a) == 0.0 and frechet_distance(a, a[::-1]) == 0.0
