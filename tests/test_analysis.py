"""Analysis tools on tiny trained models: the right data comes back and every picture is a valid PNG."""

from __future__ import annotations

import importlib.util
import io

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import aekit
from aekit import ConfigError
from aekit import analysis as A
from aekit.analysis.retrieval import CodeIndex, compare_retrieval
from aekit.apps.sklearn import AutoencoderTransformer
from aekit.models.base import Autoencoder, AutoencoderConfig, flatten
from aekit.models.dense import DenseAutoencoder

SHAPE = (1, 28, 28)


def assert_png(fig, path) -> None:
    out = A.save_figure(fig, path)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    with Image.open(out) as im:
        im.verify()
    with Image.open(out) as im:
        assert im.format == "PNG" and min(im.size) >= 150


def train(code_size: int, data, seed: int = 0):
    torch.manual_seed(seed)
    model = aekit.create_model("dense", input_shape=SHAPE, hidden=(64,), code_size=code_size)
    history = aekit.fit(model, data.subset(range(240)), data.subset(range(240, 300)),
                        epochs=3, batch_size=32, lr=3e-3, progress=False)
    return model, history


@pytest.fixture(scope="module")
def data(mnist_mini):
    return mnist_mini.subset(range(300))  # real digits with labels and class names


@pytest.fixture(scope="module")
def trained(data):
    """Two tiny dense autoencoders (2-d and 8-d codes) trained for a few steps, with their histories."""
    return {k: train(k, data) for k in (2, 8)}


@pytest.fixture(scope="module")
def model2(trained):
    return trained[2][0]


@pytest.fixture(scope="module")
def model8(trained):
    return trained[8][0]


def test_reconstruction_grid(model8, data, tmp_path):
    model8.train()  # fit leaves eval mode; training mode shows that the previous mode comes back
    grid, fig = A.reconstruction_grid(model8, data, n=6)
    assert grid.shape == (2, 6, *SHAPE)
    shown = np.linspace(0, len(data) - 1, 6).round().astype(int)  # spread over the data, not its first class
    np.testing.assert_array_equal(grid[0], data.x[shown].numpy())
    np.testing.assert_allclose(grid[1], A.reconstruct_all(model8, data.x[shown]), atol=1e-6)
    assert model8.training  # the previous mode comes back
    model8.eval()
    assert_png(fig, tmp_path / "recon.png")


@pytest.mark.parametrize("shape, picture", [((1, 28, 28), True), ((3, 32, 32), True), ((784,), True), ((64,), True),
                                            ((200,), False), ((13,), False), ((49,), False), ((1, 3, 200), False),
                                            ((1, 1, 250), False), ((1, 16, 16), True), ((6, 128), False),
                                            ((3, 16, 64), True)])  # a colour strip is a picture; (C, T) given flat is not
def test_samples_that_are_no_pictures_are_drawn_as_curves(shape, picture):
    """A signal (or a table's row) was wrapped into a grey raster of a near-square rectangle: lines now,
    one a channel, in grids (blank padding) and as the report's small PNGs."""
    assert A.plots.is_picture(shape) is picture
    samples = np.random.default_rng(0).random((5, *shape), dtype=np.float32)
    fig = A.image_grid(A.plots.grid_rows(samples, 3), title="t", row_labels=["a", "b"])
    channels = int(np.prod(shape[:-1]))  # curves: one a row
    if picture:
        assert len(fig.axes) == 1 and fig.axes[0].images
    else:  # a grid of 2 x 3 plots, the sixth (padding) blank
        assert len(fig.axes) == 6 and [len(ax.lines) for ax in fig.axes] == [channels] * 6
        assert [ax.axison for ax in fig.axes] == [True] * 5 + [False]
    width = Image.open(io.BytesIO(A.plots.png_bytes(samples[0]))).size[0]
    assert (width == 160) is not picture


def test_reconstruction_grid_shows_where_the_error_lies(model8, data):
    """An anomaly trial found no error map anywhere: a third row of each value's squared error, white at the
    largest shown."""
    grid, fig = A.reconstruction_grid(model8, data, n=4, errors=True)
    assert grid.shape == (3, 4, *SHAPE) and fig.axes[0].get_yticklabels()[2].get_text().startswith("squared error (white = ")
    np.testing.assert_allclose(grid[2], (grid[1] - grid[0]) ** 2 / ((grid[1] - grid[0]) ** 2).max(), atol=1e-5)


def test_a_tables_reconstructions_name_its_columns(tmp_path):
    """An anomaly trial: a table row's curve had no column names, so the error row could not say which
    column was off; the bottom tiles name the columns (every k-th of many), as the CSV's header has them."""
    names = [f"col{i}" for i in range(20)]
    rows = np.random.default_rng(0).random((30, 20))
    np.savetxt(tmp_path / "t.csv", rows, delimiter=",", header=",".join(names), comments="", fmt="%.4f")
    table = aekit.data.load_dataset(tmp_path / "t.csv", "train")
    model = aekit.create_model("dense", input_shape=(20,), hidden=[8], code_size=2)
    _, fig = A.reconstruction_grid(model, table, n=3, errors=True)
    bottom = [ax for ax in fig.axes if ax.get_subplotspec().rowspan.start == 2]
    assert len(bottom) == 3 and [t.get_text() for t in bottom[0].get_xticklabels()] == names[::3]
    _, fig = A.reconstruction_grid(model, table.x, n=3)  # a bare tensor has no names
    assert not any(t.get_text() for ax in fig.axes for t in ax.get_xticklabels())


def test_a_returned_figure_shows_inline_in_a_notebook_whatever_the_backend(model8, data):
    """A figure made without pyplot had no picture in Jupyter until `%matplotlib inline` (text/plain alone)."""
    formatters = pytest.importorskip("IPython.core.formatters")
    _, fig = A.reconstruction_grid(model8, data, n=4)
    shown, _ = formatters.DisplayFormatter().format(fig)  # what a notebook cell ending in `fig` displays
    assert shown["image/png"].startswith(b"\x89PNG")


@pytest.mark.parametrize("inline", [False, True])
def test_jupyter_shows_each_figure_a_cell_draws_once(model8, data, tmp_path, monkeypatch, capsys, inline):
    """A notebook trial: `_, fig = reconstruction_grid(...)` (as the lessons write) showed nothing, a call ending
    a cell showed the numbers it returns (latent_maps: 1,000 lines), not its picture, and fig.show() raised. A
    review: with matplotlib's inline backend on (`%matplotlib inline`, or pyplot imported in a kernel), which
    prints every Figure as a PNG of its own, each figure showed twice."""
    interactive = pytest.importorskip("IPython.core.interactiveshell")
    from matplotlib.figure import Figure

    from aekit.analysis import plots

    shell = interactive.InteractiveShell.instance()
    monkeypatch.setattr(shell, "kernel", object(), raising=False)  # as in Jupyter: a kernel, PNGs displayed
    monkeypatch.setattr(shell.display_formatter, "active_types", ["text/plain", "image/png"])
    drawn = []
    real = plots.Picture._repr_png_
    monkeypatch.setattr(plots.Picture, "_repr_png_", lambda fig: (drawn.append(fig), real(fig))[1])
    pngs = shell.display_formatter.formatters["image/png"]
    if inline:  # what matplotlib_inline's select_figure_formats registers
        pngs.for_type(Figure, lambda fig: (drawn.append(fig), b"png")[1])
    shell.user_ns.update(A=A, model=model8, data=data, plots=plots, path=tmp_path / "r.png")
    try:
        for cell, pictures in [("_, fig = A.reconstruction_grid(model, data, n=4)", 1),  # at the cell's end
                               ("A.latent_maps(model, data, methods=('pca',), n=50)", 1),  # its figure alone
                               ("fig", 1), ("fig.show()", 1),  # an earlier cell's figure, asked for
                               ("A.plot_first_layer(model); _ = A.top_activating(model, data, 0)", 2),
                               ("with A.unshown():\n    plots.save_figure(A.reconstruction_grid(model, data, n=4)[1], "
                                "path)", 0)]:  # a loop that saves many; aekit's own pictures
            drawn.clear()
            assert shell.run_cell(cell).success, cell
            assert len(drawn) == pictures, cell
    finally:
        pngs.pop(Figure, None)
    assert "array(" not in capsys.readouterr().out and (tmp_path / "r.png").is_file()
    fig = shell.user_ns["fig"]  # IPython's own ways still work (a review: display(fig, include=...) and format(fig)
    assert "image/png" in shell.display_formatter.format(fig)[0]  # went round them, and display_id's updates)
    assert "image/png" not in shell.display_formatter.format(fig, include=["text/plain"])[0]
    import threading

    held, go = threading.Event(), threading.Event()

    def hold_unshown():  # an unshown() block open in another thread leaves this one's figures shown (a review)
        with plots.unshown():
            held.set()
            go.wait(10)

    thread = threading.Thread(target=hold_unshown)
    thread.start()
    held.wait(10)
    drawn.clear()
    assert shell.run_cell("_ = A.plot_first_layer(model)").success and len(drawn) == 1
    go.set()
    thread.join()
    monkeypatch.setattr(shell, "kernel", None)  # IPython in a terminal: the numbers, as Python prints them
    drawn.clear()
    assert shell.run_cell("A.reconstruction_grid(model, data, n=4)").success and not drawn
    assert "array(" in capsys.readouterr().out
    with pytest.raises(ConfigError, match=r"^show: aekit's figures are not pyplot's and open no window; save_figure"):
        shell.user_ns["fig"].show()  # a script: there is no window
    grid, fig = A.reconstruction_grid(model8, data, n=4)  # still a tuple to unpack
    assert grid.shape[:2] == (2, 4) and isinstance(fig, plots.Picture) and not plots._UNSHOWN


def test_denoising_grid_with_a_corrupt_callable(model8, data, tmp_path):
    grid, fig = A.denoising_grid(model8, data, n=5, corrupt=lambda x: (x + 0.4 * torch.randn_like(x)).clamp(0, 1))
    assert grid.shape == (3, 5, *SHAPE)
    np.testing.assert_array_equal(grid[2], data.x[np.linspace(0, len(data) - 1, 5).round().astype(int)].numpy())
    assert not np.allclose(grid[0], grid[2])
    np.testing.assert_allclose(grid[1], A.reconstruct_all(model8, torch.from_numpy(grid[0])), atol=1e-6)
    again, _ = A.denoising_grid(model8, data, n=5, corrupt=lambda x: (x + 0.4 * torch.randn_like(x)).clamp(0, 1))
    np.testing.assert_array_equal(again, grid)  # seeded noise
    assert_png(fig, tmp_path / "denoise.png")
    with pytest.raises(aekit.DataError, match=r"corrupt must return a tensor shaped like its input \(5, 1, 28, 28\), got "
                       r"a ndarray$"):  # an analysis trial: "... (5, 1, 28, 28), got (5, 1, 28, 28)"
        A.denoising_grid(model8, data, n=5, corrupt=lambda x: x.numpy())


def test_denoising_grid_uses_the_models_corrupt_method(data):
    class Masking(DenseAutoencoder):
        def corrupt(self, x):
            return x * (torch.arange(x[0].numel()).reshape(x.shape[1:]) % 2)

    model = Masking(DenseAutoencoder.Config(input_shape=SHAPE, hidden=(16,), code_size=4))
    grid, _ = A.denoising_grid(model, data, n=3)
    np.testing.assert_array_equal(grid[0].reshape(3, -1)[:, ::2], 0)
    with pytest.raises(ConfigError, match="no corrupt method"):
        A.denoising_grid(aekit.create_model("dense", input_shape=SHAPE, hidden=(16,), code_size=4), data)


def test_latent_maps(model2, model8, data, tmp_path):
    maps, fig = A.latent_maps(model2, data, methods=("code", "pca", "tsne"), n=100, tsne_iter=500)
    assert set(maps) == {"code", "pca", "tsne"}
    assert all(m.shape == (100, 2) for m in maps.values())
    shown = np.linspace(0, len(data) - 1, 100).round().astype(int)  # spread over the data
    np.testing.assert_allclose(maps["code"], A.encode_all(model2, data.x[shown]), atol=1e-6)
    assert len(fig.axes) == 3 and all(ax.get_xlabel() and ax.get_title() for ax in fig.axes)
    assert fig.legends and len(fig.legends[0].get_texts()) == len(np.unique(data.y[shown]))
    assert_png(fig, tmp_path / "maps.png")
    with pytest.warns(UserWarning, match=r"^methods: 'code' left out: it maps 2-d codes themselves, and these are 8-d$"):
        maps8, _ = A.latent_maps(model8, data, methods=("code", "pca"), n=50)  # asked for: said (a docs trial)
    assert set(maps8) == {"pca"}  # the code itself is shown only when it is 2-d
    with pytest.raises(ConfigError, match="none of"):
        A.embed_2d(np.zeros((10, 8)), methods=("code",))


def test_latent_maps_umap_optional(model8, data):
    if importlib.util.find_spec("umap") is None:  # asked for: refused before any work; by default: left out, said
        with pytest.raises(aekit.ConfigError, match=r"^methods: 'umap' needs umap-learn, which is not installed; "
                                                    r"pip install 'aekit\[umap\]', or leave 'umap' out$"):
            A.latent_maps(model8, data, methods=("pca", "umap"), n=60)
        with pytest.warns(UserWarning, match=r"pip install 'aekit\[umap\]'"):
            maps, fig = A.latent_maps(model8, data, n=60)
        assert set(maps) == {"pca", "tsne"} and len(fig.axes) == 2
    else:
        maps, _ = A.latent_maps(model8, data, methods=("pca", "umap"), n=60)
        assert maps["umap"].shape == (60, 2)


def test_learning_curves(trained, tmp_path):
    fig = A.learning_curves({"code 2": trained[2][1], "code 8": trained[8][1]})
    (ax,) = fig.axes
    styles = [line.get_linestyle() for line in ax.get_lines()]
    assert styles == ["-", "--", "-", "--"]  # train solid, val dashed, for each run
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss" and ax.get_legend() is not None
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), trained[2][1]["train_loss"])
    assert_png(fig, tmp_path / "curves.png")
    with pytest.raises(ConfigError, match="choose one of: .*loss"):
        A.learning_curves([trained[2][1]], metric="accuracy")


def test_first_layer_weights(model8, tmp_path):
    weights, fig = A.plot_first_layer(model8, max_units=20)
    assert weights.shape == (64, *SHAPE)
    np.testing.assert_array_equal(weights.reshape(64, -1), model8.encoder[0].weight.detach().numpy())
    assert_png(fig, tmp_path / "weights.png")
    assert "untrained" not in fig.texts[0].get_text()


def test_the_first_layer_of_a_model_still_at_its_pca_start_is_said_untrained(mnist_mini):
    """An image trial: the default model whose PCA start restore_best kept drew its first layer's random weights as
    if learnt."""
    model = aekit.create_model("dense", input_shape=SHAPE, hidden=[16], code_size=4, linear_path=True,
                               output_activation="linear", recon_loss="mse")
    model.init_from_data(mnist_mini.x[:200])
    assert model.at_pca_start
    _, fig = A.plot_first_layer(model)
    assert "untrained: the model is its PCA start" in fig.texts[0].get_text()
    aekit.fit(model, mnist_mini.x[:200], epochs=1, batch_size=50)
    assert not model.at_pca_start
    assert not aekit.create_model("dense", input_shape=SHAPE, hidden=[16], code_size=4).at_pca_start  # no linear path


class TinyConv(Autoencoder):
    """A conv encoder built only for this test (not registered): the tools use the contract alone."""

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__(config)
        self.conv = nn.Conv2d(1, 4, 5, stride=4)  # (B, 1, 28, 28) -> (B, 4, 6, 6)
        self.head = nn.Linear(4 * 6 * 6, 3)
        self.decoder = nn.Linear(3, 784)

    @property
    def code_size(self) -> int:
        return 3

    def encode(self, x):
        return self.head(flatten(torch.relu(self.conv(x))))

    def decode_logits(self, z):
        return self.decoder(z).reshape(z.shape[0], *SHAPE)


def test_features_of_a_conv_model(data, tmp_path):
    model = TinyConv(AutoencoderConfig(input_shape=SHAPE))
    weights, fig = A.plot_first_layer(model)
    assert weights.shape == (4, 1, 5, 5) and A.first_layer(model) is model.conv
    assert_png(fig, tmp_path / "conv_weights.png")
    acts = A.unit_activations(model, data.x[:10], layer="conv")
    assert acts.shape == (10, 4)  # channels averaged over space
    with torch.no_grad():
        expected = model.conv(data.x[:10]).mean(dim=(2, 3))
    np.testing.assert_allclose(acts, expected.numpy(), atol=1e-6)


def test_top_activating(model8, data, tmp_path):
    idx, acts, fig = A.top_activating(model8, data, 3, k=7)
    codes = A.encode_all(model8, data)
    assert idx.shape == acts.shape == (7,)
    assert acts[0] == pytest.approx(codes[:, 3].max())
    assert np.all(np.diff(acts) <= 0)
    np.testing.assert_allclose(acts, codes[idx, 3], atol=1e-6)
    assert_png(fig, tmp_path / "top.png")
    hidden_idx, hidden_acts, _ = A.top_activating(model8, data, 10, k=5, layer="encoder.1")  # after the ReLU
    with torch.no_grad():
        hidden = torch.relu(model8.encoder[0](data.x.reshape(len(data), -1)))[:, 10]
    assert hidden_acts[0] == pytest.approx(float(hidden.max()), abs=1e-5)
    with pytest.raises(ConfigError, match="units 0..7"):
        A.top_activating(model8, data, 8)
    with pytest.raises(ConfigError, match="no module named 'nope'"):
        A.top_activating(model8, data, 0, layer="nope")


def test_maximize_activation(model8, data, tmp_path):
    grads_before = [None if p.grad is None else p.grad.clone() for p in model8.parameters()]
    inputs, acts, fig = A.maximize_activation(model8, [0, 5], norm=9.0, steps=60)
    assert inputs.shape == (2, *SHAPE)
    np.testing.assert_allclose(np.linalg.norm(inputs.reshape(2, -1), axis=1), 9.0, rtol=1e-4)
    # better than any real digit scaled to the same norm
    x = data.x.reshape(len(data), -1)
    scaled = (x * (9.0 / x.norm(dim=1, keepdim=True))).reshape(len(data), *SHAPE)
    codes = A.encode_all(model8, scaled)
    assert acts[0] > codes[:, 0].max() and acts[1] > codes[:, 5].max()
    assert_png(fig, tmp_path / "maxact.png")
    for p, before in zip(model8.parameters(), grads_before):  # only the input was optimised
        assert (p.grad is None and before is None) or torch.equal(p.grad, before)


def test_latent_grid(model2, model8, data, tmp_path):
    images, fig = A.latent_grid(model2, n=6, limits=(-1.0, 1.0))
    assert images.shape == (6, 6, *SHAPE)
    with torch.no_grad():
        corner = model2.decode(torch.tensor([[1.0, -1.0]]))  # last x, first y
    np.testing.assert_allclose(images[0, -1], corner[0].numpy(), atol=1e-6)
    assert fig.axes[0].get_xlabel() == "z[0]" and fig.axes[0].get_ylabel() == "z[1]"
    assert_png(fig, tmp_path / "grid.png")
    with pytest.raises(ConfigError, match="code_size 8"):
        A.latent_grid(model8)
    sliced, _ = A.latent_grid(model8, n=4, dims=(1, 6), data=data)
    assert sliced.shape == (4, 4, *SHAPE)


def test_random_samples(data, model8, tmp_path):
    class Sampler(DenseAutoencoder):
        def sample(self, n):
            return self.decode(torch.randn(n, self.code_size))

    model = Sampler(DenseAutoencoder.Config(input_shape=SHAPE, hidden=(16,), code_size=4))
    images, fig = A.random_samples(model, 10)
    assert images.shape == (10, *SHAPE) and 0 <= images.min() and images.max() <= 1
    np.testing.assert_array_equal(A.random_samples(model, 10)[0], images)  # seeded
    assert_png(fig, tmp_path / "samples.png")
    with pytest.raises(ConfigError, match="no sample"):
        A.random_samples(model8)


def test_interpolate(model8, data, tmp_path):
    path, fig = A.interpolate(model8, data.x[0], data.x[1], steps=7)
    assert path.shape == (7, *SHAPE)
    ends = A.reconstruct_all(model8, data.x[:2])
    np.testing.assert_allclose(path[[0, -1]], ends, atol=1e-5)
    assert_png(fig, tmp_path / "interp.png")


@pytest.mark.parametrize("name", aekit.list_models())
def test_every_registered_model_through_the_contract(name, data, tmp_path, small_model):
    """Untrained small instances of every model: the tools rely on encode/decode/forward alone."""
    from aekit.analysis.retrieval import CodeIndex

    model = small_model(name, SHAPE)
    x = data.subset(range(40))
    assert A.reconstruction_grid(model, x, n=3)[0].shape == (2, 3, *SHAPE)
    codes = A.encode_all(model, x)
    assert codes.shape == (40, model.code_size)
    assert set(A.latent_maps(model, x, methods=("pca",))[0]) == {"pca"}
    assert A.top_activating(model, x, 0, k=2)[0].shape == (2,)
    assert A.maximize_activation(model, 0, steps=3)[0].shape == (1, *SHAPE)
    assert A.plot_first_layer(model)[0].shape[0] > 0
    images, fig = A.latent_grid(model, n=3, dims=(0, 1), data=x)
    assert images.shape == (3, 3, *SHAPE)
    assert A.interpolate(model, x.x[0], x.x[1], steps=3)[0].shape == (3, *SHAPE)
    assert CodeIndex(model).fit(x).query(x.x[:2], k=2)[1].shape == (2, 2)
    if hasattr(model, "corrupt"):
        assert A.denoising_grid(model, x, n=2)[0].shape == (3, 2, *SHAPE)
    if hasattr(model, "fit_prior"):  # vq-vae: sampling needs its prior over code indices first
        model.fit_prior(x)
    if hasattr(model, "sample"):
        assert A.random_samples(model, 4)[0].shape == (4, *SHAPE)
    assert_png(fig, tmp_path / f"{name}.png")


@pytest.mark.parametrize(
    "labels", [["a", "b"], ["clean", "a much longer row label (sigma 0.5)"], ["", "unlabelled row above"]]
)
def test_image_grid_row_labels_fit_inside_the_figure_whatever_their_length(labels):
    from aekit.analysis.plots import image_grid

    fig = image_grid(np.random.default_rng(0).random((2, 5, 1, 28, 28)), title="t", row_labels=np.array(labels))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ticks = [t for t in fig.axes[0].get_yticklabels() if t.get_text()]
    assert [t.get_text() for t in ticks] == [label for label in labels if label]
    left = min(t.get_window_extent(renderer).x0 for t in ticks)
    assert 0 <= left < 0.3 * fig.dpi  # inside the figure, without a wide empty margin


# --- from an inspection trial: what is not an autoencoder, and values out of range, are one line --------------


def test_what_is_not_an_autoencoder_is_refused_in_one_line(model8, data, tmp_path):
    """A classifier, a run folder's path or a torch module of one's own met AttributeErrors deep inside."""
    clf = aekit.create_model("encoder-classifier", autoencoder="dense", n_classes=10,
                             autoencoder_config={"input_shape": [1, 28, 28], "hidden": [16], "code_size": 4})
    calls = [lambda m: A.reconstruction_grid(m, data), lambda m: A.latent_maps(m, data, methods=("pca",)),
             lambda m: A.interpolate(m, data.x[0], data.x[1]), lambda m: A.top_activating(m, data, 0),
             lambda m: A.latent_grid(m, dims=(0, 1)), lambda m: CodeIndex(m), lambda m: A.unit_activations(m, data)]
    for model, says in ((clf, r"^model: 'encoder-classifier' has no encode\(x\) and decode\(z\) of its own \(a classifier, "
                               r"or a semi-supervised model\); its autoencoder is model.autoencoder"),
                        (str(tmp_path / "run"), r"^model: got the path '.*run'; give the model itself: aekit.load_model"),
                        (nn.Sequential(nn.Linear(4, 4)), r"^model: Sequential is not a model of aekit's"),
                        (AutoencoderTransformer(), r"^model: got the estimator AutoencoderTransformer; give its model once "
                                                   r"fitted, estimator.model_")):
        for call in calls:
            with pytest.raises(ConfigError, match=says):
                call(model)
    assert A.first_layer_weights(clf).shape == (16, 1, 28, 28)  # a classifier's first layer is still there to see


def test_counts_and_ranges_are_checked_before_any_work(model8, data):
    for call, says in ((lambda: A.top_activating(model8, data, 0, k=0), "k: must be a whole number > 0, got 0"),
                       (lambda: A.top_activating(model8, data, 0, k=-1), "k: must be a whole number > 0, got -1"),
                       (lambda: A.top_activating(model8, data, 0, k=3.5), "k: must be a whole number > 0, got 3.5"),
                       (lambda: A.plot_first_layer(model8, max_units=0), "max_units: must be a whole number > 0"),
                       (lambda: A.plot_first_layer(model8, max_units=-5), "max_units: must be a whole number > 0"),
                       (lambda: A.latent_grid(model8, dims=(0, 1), n=2.5), r"n: must be a whole number >= 2, got 2.5"),
                       (lambda: A.interpolate(model8, data.x[:5], data.x[5:10]), r"x_a: one sample, got 5"),
                       (lambda: A.latent_maps(model8, data, methods=("tsne",), tsne_iter=10),
                        "tsne_iter: must be a whole number >= 500, got 10"),
                       (lambda: A.latent_maps(model8, data, methods="pca"), r"methods: give a list of methods, such as \['pca'\]"),
                       (lambda: A.embed_2d(np.full((10, 3), np.nan), methods=("pca",)), "codes"),
                       (lambda: A.image_grid(np.zeros((0, 3, 1, 28, 28)), title="x"), "images: a .* at least one image"),
                       (lambda: compare_retrieval(model8, data, max_queries=0), "max_queries: must be a whole number > 0")):
        with pytest.raises(aekit.AekitError, match=says):
            call()
    onehot = np.eye(10, dtype=np.int64)[data.y.numpy()]
    with pytest.raises(aekit.DataError, match=r"labels: one a sample, shaped \(N,\), got \(300, 10\); one-hot labels "
                                              r"become class numbers by y.argmax\(1\)"):
        A.latent_maps(model8, (data.x, onehot), methods=("pca",))
    maps, _ = A.latent_maps(model8, (data.x, data.y[:, None]), methods=("pca",), n=50)  # a column of labels is fine
    assert maps["pca"].shape == (50, 2)


def test_one_history_as_fit_returns_it_draws(trained):
    history = trained[2][1]
    fig = A.learning_curves(history)
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["run 1 (train)", "run 1 (val)"]
    dense = aekit.create_model("dense", input_shape=(28, 28), hidden=[], code_size=4)  # images given as (H, W)
    assert A.plot_first_layer(dense)[1].axes[0].images  # pictures, as before
    with pytest.raises(ConfigError, match=r"^learning_curves: 'a' is not a training history"):
        A.learning_curves({"a": "runs/x"})
    fig = A.learning_curves({"train_a": history})  # runs named alike are still runs
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["train_a (train)", "train_a (val)"]


def test_a_conditional_models_first_layer_shows_its_pixels_and_a_tables_says_how_to_read_it(data):
    cvae = aekit.create_model("cvae", input_shape=SHAPE, hidden=(32,), code_size=2, n_classes=10)
    weights, fig = A.plot_first_layer(cvae)
    assert weights.shape == (32, *SHAPE) and "the label's weights left out" in fig._suptitle.get_text()
    table = aekit.create_model("dense", input_shape=(13,), hidden=(8,), code_size=2)
    _, fig = A.plot_first_layer(table)
    assert "0.5 = a weight of 0" in fig._suptitle.get_text() and "grey = 0" not in fig._suptitle.get_text()
    with pytest.raises(aekit.DataError, match=r"^y: one class number in 0\.\.9 or n = 2 of them .* got 10$"):
        cvae.decode(torch.zeros(2, 2), y=10)


def test_experiment_settings_the_pictures_cannot_take_are_refused_before_training():
    from aekit.apps.experiments import settings

    for name in ("mnist-2d", "generate-mnist-grid"):
        with pytest.raises(ConfigError, match=r"^experiment.grid: must be a whole number >= 2 and <= 100, got 1"):
            settings(name, ["experiment.grid=1"])
    with pytest.raises(ConfigError, match=r"^experiment.map_methods: none of \['code'\] applies to 10-d codes"):
        settings("retrieval-bbc", ["experiment.map_methods=[code]"])


def test_neighbour_queries_are_taken_from_each_label_in_turn():
    from aekit.apps.experiments.text import _spread

    labels = np.array([0] * 10 + [1] * 10 + [2] * 5)
    assert _spread(np.arange(25), labels).tolist() == [0, 10, 20, 1, 11, 21, 2, 12]


def test_a_figure_saves_as_png_pdf_or_svg(model8, data, tmp_path):
    _, fig = A.reconstruction_grid(model8, data, n=4)
    assert A.save_figure(fig, tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
    assert b"<svg" in A.save_figure(fig, tmp_path / "r.svg").read_bytes()[:2000]
    with pytest.raises(ConfigError, match=r"save_figure writes .png, .pdf or .svg files; .*r.jpg ends in .jpg"):
        A.save_figure(fig, tmp_path / "r.jpg")


def test_a_tables_error_row_reaches_the_top_of_its_inputs_range():
    """A picture trial: a table's rows out of range to 3.5 shared one y-range with the error row, scaled to 1 at
    its largest, so the error curve rose a quarter of the panel where the anomalies were looked for."""
    rows = np.random.default_rng(0).random((6, 12)).astype(np.float32)
    rows[0, 4] = 3.5
    model = aekit.create_model("dense", input_shape=(12,), hidden=[8], code_size=2)
    grid, fig = A.reconstruction_grid(model, torch.from_numpy(rows), n=6, errors=True)
    height = max(float(grid[:2].max()), 1.0)
    assert grid[2].max() == pytest.approx(height) and height >= 3.5
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert labels[2].startswith(f"squared error (scaled, {height:.3g} on the axis = ")


def test_image_grid_takes_a_models_output_as_its_annotation_says(real_batch):
    """A review: image_grid, annotated to take a tensor, failed on one that requires grad (a model's output)."""
    import torch

    from aekit.analysis.plots import image_grid

    model = aekit.create_model("dense", input_shape=(1, 28, 28), hidden=(8,), code_size=2)
    x_hat = model(real_batch[:6]).x_hat
    assert x_hat.requires_grad
    fig = image_grid(x_hat.reshape(2, 3, 1, 28, 28), title="reconstructions")
    assert fig.axes and isinstance(x_hat, torch.Tensor)


def test_maximize_activation_of_relu_units_off_where_it_starts():
    """A bug hunt: the search starts near 0, where a ReLU unit with a negative bias has no gradient; it came back as
    the noise it began as (10 of 32 units, activation 0.0). Such a row starts again at a random input; a unit no input
    tried reaches is said."""
    torch.manual_seed(0)
    model = aekit.create_model("dense", input_shape=SHAPE, hidden=[16], code_size=2, activation="relu")
    with torch.no_grad():
        model.encoder[0].bias.fill_(-0.1)  # every hidden unit off at 0
    _, acts, _ = A.maximize_activation(model, list(range(16)), layer="encoder.1", steps=40)
    assert (acts > 0).all(), acts
    with torch.no_grad():
        model.encoder[0].bias[3] = -1e6  # off everywhere
    with pytest.warns(UserWarning, match=r"^maximize_activation: unit 3 responded to no input tried"):
        A.maximize_activation(model, [3], layer="encoder.1", steps=5)


def test_a_layer_encode_runs_more_than_once_is_refused_not_read_at_its_last_run():
    """A bug hunt: a conv model's one pooling module serves every block; layer="pool" read its last run alone."""
    from aekit.analysis.features import unit_activations

    model = aekit.create_model("conv", input_shape=(1, 8, 8), channels=[4, 8], code_size=4)
    with pytest.raises(aekit.ConfigError, match=r"^layer: MaxPool2d runs 2 times in encode\(\)"):
        unit_activations(model, torch.rand(3, 1, 8, 8), layer="pool")
    assert unit_activations(model, torch.rand(3, 1, 8, 8), layer="down.0.0").shape == (3, 4)  # a block's convolution


def test_degenerate_labels_and_codes_are_said_not_scored_as_results(tmp_path):
    """A shapes hunt: compare_retrieval scored an index of one class 1.0 and queries of a class the index lacks 0.0
    without a word; a report's latent map of constant data printed numpy's 'invalid value encountered in divide' and
    drew one dot; latent_explorer of one sample was scikit-learn's error; a 3x3 conv's advice named fewer channels
    entries where one is the fewest."""
    from aekit.analysis.latent import latent_explorer
    from aekit.data import Dataset

    model = aekit.create_model("dense", input_shape=(6,), hidden=[8], code_size=3)
    x = torch.rand(20, 6)
    with pytest.warns(UserWarning, match=r"compare_retrieval: the labels hold one class \(0\): every neighbour shares"):
        rows = compare_retrieval(model, Dataset(x, torch.zeros(20, dtype=torch.long)), k=3, methods=["raw"])
    assert rows[0]["map"] == pytest.approx(1.0)
    with pytest.warns(UserWarning, match=r"compare_retrieval: 4 of 4 queries are of classes the index lacks"):
        compare_retrieval(model, Dataset(x, torch.arange(20) % 2), Dataset(x[:4], torch.full((4,), 5)), k=3,
                          methods=["raw"])
    from aekit.analysis.retrieval import labels_note

    assert labels_note([0, 1, 0, 1], [0, 1, -1, -1]) == ""  # unlabelled queries lack no class (a review)
    broken = aekit.create_model("dense", input_shape=(6,), hidden=[8], code_size=3)
    with torch.no_grad():
        broken.encoder[0].weight.fill_(float("nan"))
    with pytest.raises(aekit.DataError, match=r"^codes: .*(NaN|not finite|non-finite)"):  # not "the same point"
        latent_explorer(broken, Dataset(x), n=10, grid=3)
    for data, says in ((Dataset(torch.full((6, 6), 0.5)), "all 6 codes are the same point"), (Dataset(x[:1]), "one sample")):
        with pytest.raises(aekit.DataError, match=rf"^codes: {says}.*; a map places two different codes or more$"):
            latent_explorer(model, data, n=10, grid=3)
    with pytest.raises(ConfigError, match=r"height and width must be multiples of 2 \(3: e\.g\. 2 or 4\); resize the"):
        aekit.create_model("conv", input_shape=(1, 3, 3), channels=(4,))
