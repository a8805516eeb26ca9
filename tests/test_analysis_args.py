"""Bad arguments to the analysis functions are one-line refusals naming the argument (from a new-user trial of
the Python API, which met numpy, torch, matplotlib and scikit-learn errors, or silent wrong results)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import aekit
from aekit import analysis as A
from aekit.analysis.density import sampler
from aekit.analysis.generate import GRID_MAX
from aekit.analysis.likelihood import importance_sampled_nll, why_no_likelihood
from aekit.analysis.retrieval import (
    CodeIndex,
    compare_retrieval,
    mean_average_precision,
    precision_at_k,
)

SHAPE = (1, 8, 8)
X = torch.rand(64, *SHAPE, generator=torch.Generator().manual_seed(0))  # in [0, 1]
DATA = (X, torch.arange(64) % 4)
M = aekit.create_model("dense", input_shape=SHAPE, hidden=[8], code_size=2)
M4 = aekit.create_model("dense", input_shape=SHAPE, hidden=[8], code_size=4)
VAE = aekit.create_model("vae", input_shape=SHAPE, hidden=[8], code_size=2)
INDEX = CodeIndex(M).fit(DATA)
FIG = A.reconstruction_grid(M, DATA, n=2)[1]
CODES = np.random.default_rng(0).random((20, 3)).astype(np.float32)
LABELS = ([0, 1], [[0, 1, 1], [1, 1, 0]])  # 2 queries, 3 retrieved labels each

UNIT = r"must be a whole number, one of this layer's units 0\.\.3, got "
WHOLE = r"must be a whole number > 0, got "
BERNOULLI = r"^data: values span \[.*\], but a Bernoulli likelihood takes values in \[0, 1\]"

REFUSALS = [
    # 1: data outside [0, 1] were clamped silently; a fractional k met numpy
    (lambda: importance_sampled_nll(VAE, X * 255, k=5), BERNOULLI + r".*x / 255 for 8-bit images"),
    (lambda: importance_sampled_nll(VAE, X - 0.5, k=5), BERNOULLI),
    (lambda: importance_sampled_nll(VAE, X - 0.5, k=5, binary=False), BERNOULLI),  # bce models them as Bernoulli
    (lambda: importance_sampled_nll(VAE, DATA, k=2.5), "^k: " + WHOLE + "2.5$"),
    (lambda: importance_sampled_nll(VAE, DATA, k=5, chunk=True), "^chunk: " + WHOLE + "True$"),
    # 7
    (lambda: A.maximize_activation(M4, 0, steps=5, lr=float("nan")), r"^lr: must be a finite number > 0, got nan$"),
    (lambda: A.maximize_activation(M4, 0, steps=5, lr=math.inf), r"^lr: must be a finite number > 0, got inf$"),
    (lambda: A.maximize_activation(M4, 0, steps=5, norm=math.inf), r"^norm: must be a finite number > 0, got inf$"),
    (lambda: A.maximize_activation(M4, 0, steps=0), "^steps: " + WHOLE + "0$"),
    (lambda: A.maximize_activation(M4, 2.5), "^units: " + UNIT + "2.5$"),
    # 12
    (lambda: A.reconstruction_grid(M, DATA, n="3"), "^n: " + WHOLE + "'3'$"),
    (lambda: A.reconstruction_grid(M, DATA, n=2.5), "^n: " + WHOLE + "2.5$"),
    (lambda: A.reconstruction_grid(M, DATA, n=True), "^n: " + WHOLE + "True$"),
    (lambda: A.reconstruction_grid(M, DATA, n=5000), r"^n: must be at most 100 \(the samples shown side by side"),
    (lambda: A.latent_maps(M, DATA, methods=("pca",), n=2.5), "^n: " + WHOLE + "2.5$"),
    (lambda: A.denoising_grid(M, DATA, corrupt=lambda x: x, n=0), "^n: " + WHOLE + "0$"),
    # 15
    *[(lambda unit=unit: A.top_activating(M4, DATA, unit), "^unit: " + UNIT + shown + "$")
      for unit, shown in ((2.5, "2.5"), ("3", "'3'"), (None, "None"), ([0, 1], r"\[0, 1\]"), (True, "True"), (4, "4"))],
    *[(lambda unit=unit: A.maximize_activation(M4, unit, steps=2), "^units: " + UNIT + shown + "$")
      for unit, shown in (("3", "'3'"), (None, "None"), (True, "True"), ([0, 2.5], "2.5"), ([1, -1], "-1"),
                          (torch.tensor([0.5]), "0.5"))],
    # 16
    *[(lambda dims=dims: A.latent_grid(M4, dims=dims), r"^dims: must be two different coordinates \(whole numbers\) in "
       r"0\.\.3, got " + shown + "$")
      for dims, shown in ((0, "0"), ((0, 1, 2), r"\(0, 1, 2\)"), ((1, 1), r"\(1, 1\)"), ((0, 4), r"\(0, 4\)"),
                          ((0, 1.0), r"\(0, 1.0\)"))],
    *[(lambda limits=limits: A.latent_grid(M, limits=limits), r"^limits: must be \(low, high\), finite numbers with "
       r"low < high, got " + shown + "$")
      for limits, shown in ((3, "3"), ((0, math.inf), r"\(0, inf\)"), ((1, 0), r"\(1, 0\)"), (("0", "1"), r"\('0', '1'\)"))],
    (lambda: A.latent_grid(M, n=GRID_MAX + 1), rf"^n: must be at most {GRID_MAX} \(a {GRID_MAX}x{GRID_MAX} grid .*\), "
                                               rf"got {GRID_MAX + 1}$"),
    # 17
    (lambda: A.image_grid(np.zeros((2, 3, *SHAPE)), title="t", row_labels=["a"]),
     r"^row_labels: 1 given for 2 rows; give one a row$"),
    (lambda: A.image_grid(np.zeros((2, 3, *SHAPE)), title="t", col_labels=["a", "b", "c", "d"]),
     r"^col_labels: 4 given for 3 columns; give one a column$"),
    (lambda: A.image_grid(np.zeros((2, 3, 5)), title="t", row_labels=["a"]),  # no pictures: curves
     r"^row_labels: 1 given for 2 rows"),
    (lambda: A.save_figure(np.zeros(3), "x.png"), r"^fig: must be a matplotlib Figure .* got ndarray$"),
    (lambda: A.save_figure(A.reconstruction_grid(M, DATA, n=2), "x.png"), r"^fig: .* got the whole \(data\.\.\., figure\) of a drawing function$"),
    (lambda: A.save_figure(FIG, "x.png", dpi=0), "^dpi: " + WHOLE + "0$"),
    # 18
    *[(lambda k=k: INDEX.query(X[:2], k=k), r"^k: must be a whole number between 1 and the 64 indexed samples, got "
       + shown + "$") for k, shown in ((2.5, "2.5"), ("3", "'3'"), (None, "None"), (True, "True"), (65, "65"))],
    (lambda: precision_at_k(*LABELS, 2.5), r"^k: must be a whole number between 1 and the 3 retrieved items per query, "
                                           r"got 2.5$"),
    (lambda: mean_average_precision(*LABELS, n_relevant=[1, 2, 3]),
     r"^n_relevant: one number, or one a query \(shape \(2,\)\), got shape \(3,\)$"),
    (lambda: precision_at_k([], np.zeros((0, 3)), 1), r"^query_labels: empty; give at least one query"),
    (lambda: mean_average_precision([], np.zeros((0, 3))), r"^query_labels: empty; give at least one query"),
    (lambda: mean_average_precision([0, 1], np.zeros((2, 0))), r"^retrieved_labels: empty"),
    (lambda: compare_retrieval(M, DATA, methods="ae"),
     r"^methods: give a list of methods, such as \['ae'\], not the string 'ae'$"),
    (lambda: compare_retrieval(M, DATA, k=2.5), "^k: " + WHOLE + "2.5$"),
    (lambda: compare_retrieval(M, DATA, metric="l1"), r"^metric: 'l1' is not allowed; choose one of: cosine, euclidean$"),
    (lambda: CodeIndex(M, batch_size=0), "^batch_size: " + WHOLE + "0$"),
    # 20
    (lambda: A.embed_2d(CODES[:0], methods=("pca",)), r"^codes: 2-D maps need at least 5 points, got 0$"),
    # 22
    (lambda: sampler(M, DATA, bogus=1), r"^sampler: unknown key 'bogus'; allowed keys: covariance_type, n_components, "
                                        r"seed$"),
    (lambda: sampler(VAE, bogus=1), r"^sampler: unknown key 'bogus'"),  # a model's own sample(n) takes none either
    (lambda: sampler(M, DATA, n_component=2), r"^sampler: unknown key 'n_component' \(did you mean 'n_components'\?\)"),
    (lambda: sampler(M, DATA, n_components=2.5), "^n_components: " + WHOLE + "2.5$"),
    (lambda: A.denoising_grid(M, DATA, corrupt=0.3), r"^corrupt: must be a function from a clean batch to a noisy one, "
                                                     r"such as lambda x: .*, got a float$"),
]


@pytest.mark.parametrize("call, says", REFUSALS)
def test_a_bad_argument_is_refused_in_one_line_naming_it(call, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # save_figure's refusals must write nothing; here nothing stray if they did
    with pytest.raises(ValueError, match=says) as err:  # ConfigError / DataError
        call()
    assert isinstance(err.value, aekit.AekitError) and "\n" not in str(err.value)
    assert not list(tmp_path.iterdir())


def test_units_are_checked_before_the_data_are_run_through_the_model(monkeypatch):
    from aekit.analysis import features

    monkeypatch.setattr(features, "unit_activations", lambda *a, **k: pytest.fail("the data were encoded first"))
    with pytest.raises(aekit.ConfigError, match="^unit: "):
        A.top_activating(M4, DATA, 4)


def test_a_one_number_code_is_refused_before_any_note_of_the_map_methods(monkeypatch):
    """A trial: latent_maps of a 1-d code said "UMAP panel skipped: umap-learn is not installed", then refused the
    code. The refusal comes first, before the data are encoded."""
    import importlib.util
    import warnings

    from aekit.analysis import latent

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "umap" else real(name, *a))
    one = aekit.create_model("dense", input_shape=SHAPE, hidden=[8], code_size=1)
    monkeypatch.setattr(latent, "map_batches", lambda *a, **k: pytest.fail("the data were encoded first"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(aekit.ConfigError, match="^2-D maps need codes of at least 2 dimensions, got 1$"):
            A.latent_maps(one, DATA)
        with pytest.raises(aekit.ConfigError, match="^2-D maps need codes of at least 2 dimensions, got 1$"):
            A.embed_2d(np.zeros((10, 1)))


def test_what_the_refusals_leave_alone_still_works():
    mse = aekit.create_model("vae", input_shape=SHAPE, hidden=[8], code_size=2, recon_loss="mse",
                             output_activation="linear")
    assert importance_sampled_nll(mse, X * 3 - 1, k=2, binary=False).shape == (64,)  # a Gaussian takes any values
    assert importance_sampled_nll(VAE, X, k=2).shape == (64,)
    assert why_no_likelihood(VAE, X * 255).startswith("the values span [0.")  # aekit evaluate: skipped, said why
    assert why_no_likelihood(mse, X * 3 - 1) is None and why_no_likelihood(VAE, X.round()) is None
    codes = torch.tensor(CODES, requires_grad=True)  # a model's output outside no_grad
    assert A.embed_2d(codes, methods=("pca",))["pca"].shape == (20, 2)
    x = X[:4].clone().requires_grad_(True)  # a bug hunt: the pictures' .numpy() failed on it
    assert A.reconstruction_grid(M4, x, n=4)[0].shape == (2, 4, *SHAPE)
    assert A.top_activating(M4, x, 0, k=2)[0].shape == (2,)
    assert A.interpolate(M4, x[0], x[1], steps=3)[0].shape[0] == 3
    assert A.maximize_activation(M4, np.array([0, 3]), steps=2, lr=np.float32(0.1))[0].shape == (2, *SHAPE)
    assert A.maximize_activation(M4, torch.tensor(3), steps=2)[0].shape == (1, *SHAPE)  # a 0-d tensor: one unit
    for unit in (np.int64(3), torch.tensor(3), np.array(3)):
        assert A.top_activating(M4, DATA, unit, k=2)[0].shape == (2,)
    assert A.latent_grid(M4, n=np.int64(3), dims=np.array([0, 3]), limits=[np.float32(-1), 1])[0].shape == (3, 3, *SHAPE)
    assert A.latent_grid(M4, n=3, dims=torch.tensor([0, 3]), limits=torch.tensor([-1.0, 1.0]))[0].shape == (3, 3, *SHAPE)
    assert INDEX.query(X[:2], k=np.int64(3))[1].shape == (2, 3)
    assert mean_average_precision(*LABELS, n_relevant=2) == mean_average_precision(*LABELS, n_relevant=[2, 2])
    assert sampler(M, DATA, n_components=2, seed=1)(3).shape == (3, *SHAPE)


def test_codes_all_alike_are_refused_before_a_map():
    """Every sample encoded alike (a collapsed code): scikit-learn's t-SNE divided by their zero spread and segfaulted
    the process (a bug hunt); each map would show one dot."""
    same = np.ones((30, 4), dtype=np.float32)
    for methods in (("pca",), ("tsne",)):
        with pytest.raises(aekit.DataError, match=r"^codes: all 30 codes are the same point \(a collapsed code"):
            A.embed_2d(same, methods=methods)
    assert A.embed_2d(same + np.eye(30, 4), methods=("pca",))["pca"].shape == (30, 2)  # one differs: mapped


def test_pictures_show_every_channel_and_volume_and_data_in_other_units():
    """A bug hunt: 2- and 4-channel images showed channel 0 alone (a reconstruction failing in channel 1 looked
    perfect), a volume was wrapped into a scrambled square, standardised pictures were clipped to [0, 1] (a ramp drawn
    as an edge), and a 15 x 15 latent grid of a table took 22 s."""
    import time

    from aekit.analysis import plots

    two = np.stack([np.full((4, 5), 0.5), np.eye(4, 5)]).astype(np.float32)
    assert plots.as_image(two).shape == (4, 11) and plots.as_image(two)[:, 6:].tolist() == np.eye(4, 5).tolist()
    assert plots.as_image(two)[:, 5].min() == 1.0  # a white line between the channels (a review: none)
    volume = np.stack([np.full((4, 4), v) for v in (0.2, 0.6, 0.9)])[None].astype(np.float32)
    drawn = plots.as_image(volume)  # slices in a near-square block (a review: 32 in a row, 29,000 pixels wide)
    assert drawn.shape == (9, 9) and [float(drawn[r, c]) for r, c in ((0, 0), (0, 5), (5, 0), (5, 5))] == pytest.approx(
        [0.2, 0.6, 0.9, 1.0])  # slice by slice, row by row, the last place blank
    assert plots.as_image(np.zeros((1, 32, 8, 8))).shape == (6 * 9 - 1, 6 * 9 - 1)
    ramp = torch.linspace(-2, 3, 64).repeat(6, 1).reshape(6, 1, 8, 8)
    model = aekit.create_model("dense", input_shape=(1, 8, 8), hidden=[8], code_size=2)
    grid, fig = A.reconstruction_grid(model, ramp, n=3, errors=True)
    assert "(drawn from -2, black, to 3, white: the values' range)" in fig._suptitle.get_text().replace("\n", " ")
    assert grid[2].max() == pytest.approx(3.0)  # the largest error white on that range too
    assert "drawn from" not in A.reconstruction_grid(model, X[:6], n=3)[1]._suptitle.get_text()  # [0, 1]: as before
    overshoot = X[:6].clone()
    overshoot[0, 0, 0, :2] = torch.tensor([-0.4, 1.35])  # a linear output's or PCA's few pixels (a review: every
    assert plots.unit_span(overshoot.numpy()) is None  # such MNIST grid was redrawn on dark grey)
    for draw in (lambda t: plots.manifold_picture(t, x_values=np.arange(2.0), y_values=np.arange(2.0), xlabel="a",
                                                  ylabel="b", title="grid"),
                 lambda t: plots.image_grid(t, title="grid")):  # a latent grid too (a review: still clipped)
        fig = draw(ramp[:4].numpy().reshape(2, 2, 1, 8, 8))
        title = fig._suptitle.get_text() if fig._suptitle else fig.axes[0].get_title()
        assert "(drawn from -2, black, to 3, white" in title.replace("\n", " ")
    given = plots.image_grid(X[:4].numpy().reshape(2, 2, *SHAPE), title="grid", span=(0.0, 3.0))  # a caller's span
    assert "(drawn from 0, black, to 3, white" in given._suptitle.get_text()  # (reconstruction_grid's, error row in)
    table = aekit.create_model("dense", input_shape=(12,), hidden=[8], code_size=2)
    began = time.process_time()  # this process's own CPU seconds, not another's on a busy machine (a trial: 10.2 s
    A.latent_grid(table, n=15)  # of wall time under load 6, with matplotlib 3.7)
    assert time.process_time() - began < 10  # (22 s before; ~1.5 s here)


def test_figures_keep_colours_blank_tiles_and_titles_honest():
    """A bug hunt: a class's colour moved with the classes shown; blank tiles of a weights grid were grey, a weight of
    0; maximize_activation failed on a float64 model; log_y dropped losses below 0 unsaid; a class's samples were
    titled as any."""
    from aekit.analysis import plots

    names = ["zero", "one", "two"]
    assert plots.value_colours([1, 2], names) == plots.label_colours(3)[1:]  # class 1 keeps its colour without 0
    assert plots.value_colours([1, 2], None) == plots.label_colours(2)  # no names: by rank, as before
    # a shape a class beside its colour (the map told classes apart by colour alone), kept in a subset alike
    assert plots.value_markers([1, 2], names) == list(plots.MARKERS[1:3]) and len(set(plots.MARKERS)) == 15
    first, tenth = plots.value_markers([0, 10], [str(k) for k in range(12)])
    assert first != tenth  # (a review: classes i and i + 10 shared a shape)
    labels = np.array([0, 1, 2, 2, 1, 0, -1])
    fig = plots.scatter_maps({"m": np.random.default_rng(0).normal(size=(7, 2))}, labels, title="t", classes=names)
    shapes = [tuple(map(tuple, c.get_paths()[0].vertices.round(3))) for c in fig.axes[0].collections]
    assert len(shapes) == 4 and len(set(shapes)) == 4  # the three classes and the unlabelled points differ in shape
    # the report's map draws the same shapes: its SHAPES hold a path for each marker and the unlabelled dot
    script = (Path(aekit.__file__).parent / "apps" / "templates" / "report.js").read_text()
    table = script[script.index("const SHAPES = {"):script.index("};", script.index("const SHAPES = {"))]
    keys = set(re.findall(r'(?:^|[\s,{])"?([^\s":,{]+)"?: "M', table))
    assert keys == {*plots.MARKERS, plots.UNLABELLED_MARKER}, keys
    ten = aekit.create_model("dense", input_shape=SHAPE, hidden=[10], code_size=4)  # 8 a row: 6 tiles blank
    weights, fig = A.plot_first_layer(ten)
    assert fig.axes[0].images[0].get_array()[-2:, -2:].min() == 1.0  # the last tiles blank: white
    wide = aekit.create_model("dense", input_shape=SHAPE, hidden=[8], code_size=4).double()
    assert A.maximize_activation(wide, [0], steps=2)[0].shape == (1, *SHAPE)
    with pytest.raises(aekit.ConfigError, match=r"^log_y: loss reaches -3, which a log scale cannot show"):
        plots.learning_curves({"train_loss": [5.0, 1.0, -2.0, -3.0]}, log_y=True)
    cvae = aekit.create_model("cvae", input_shape=SHAPE, hidden=[8], code_size=2, n_classes=3)
    assert A.random_samples(cvae, 2, y=1)[1]._suptitle.get_text().endswith("2 random samples of class 1")


def test_a_tsne_of_many_points_says_it_takes_minutes(monkeypatch):
    """A scale hunt: embed_2d ran t-SNE on 60,000 codes (about 12 minutes) without a word."""
    import warnings

    from aekit.analysis import latent

    monkeypatch.setattr(latent, "TSNE_SAID", 50)
    codes = np.random.default_rng(0).normal(size=(60, 3))
    with pytest.warns(UserWarning, match=r"embed_2d: t-SNE of 60 points takes minutes"):
        latent.embed_2d(codes, methods=["tsne"], tsne_iter=500)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        latent.embed_2d(codes, methods=["pca"])
