"""One self-contained HTML page about run folders: `aekit report RUN_DIR [RUN_DIR ...] --output FILE`.

It reads `aekit train` folders (config.yaml, metrics.json, history.json, reconstructions.png) and
experiment folders (experiment.yaml, results.json, table.md, history-<model>.json, pictures), and
shows per run: the headline, the result tables, learning curves drawn from the histories, every
PNG with a caption, and the config. With several runs a summary table compares them and one plot
holds all their learning curves. Pictures are base64 data URIs and the CSS is inline, so the page
needs nothing else: mail it, open it offline.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import __version__
from .errors import ConfigError
from .training.checkpoint import atomic_write_text

CONFIG_FILES = ("config.yaml", "experiment.yaml")


@dataclass
class RunFolder:
    """What a run folder holds, read once."""

    path: Path
    kind: str  # "train" (aekit train) or "experiment" (aekit experiment run)
    config_text: str
    config: dict[str, Any]
    metrics: dict[str, Any] | None = None  # metrics.json
    results: dict[str, Any] | None = None  # results.json
    table_md: str | None = None  # table.md
    histories: dict[str, dict[str, list]] = field(default_factory=dict)  # model label -> history
    pictures: list[Path] = field(default_factory=list)  # every PNG, the experiment's order first
    anchor: str = ""  # the id of its section in the page

    @property
    def name(self) -> str:
        return self.path.name


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path} is not valid JSON ({str(err).splitlines()[0]})") from None


def read_run_folder(path: str | Path) -> RunFolder:
    """Everything the report shows about one run folder."""
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"{path} is not a folder; give run folders made by `aekit train` or `aekit experiment run`")
    config_file = next((path / f for f in CONFIG_FILES if (path / f).is_file()), None)
    if config_file is None:
        raise ConfigError(f"{path} is not a run folder: it holds neither {' nor '.join(CONFIG_FILES)}")
    config_text = config_file.read_text()
    try:
        config = yaml.safe_load(config_text) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{config_file} is not valid YAML ({str(err).splitlines()[0]})") from None
    run = RunFolder(
        path=path,
        kind="experiment" if config_file.name == "experiment.yaml" else "train",
        config_text=config_text,
        config=config if isinstance(config, dict) else {},
    )
    if (path / "metrics.json").is_file():
        run.metrics = _read_json(path / "metrics.json")
    if (path / "results.json").is_file():
        run.results = _read_json(path / "results.json")
    if (path / "table.md").is_file():
        run.table_md = (path / "table.md").read_text()
    # history.json (a train run), history-<model>.json (an experiment's models), <model>/history.json
    files = [*path.glob("history*.json"), *path.glob("*/history.json")]
    for file in sorted(files, key=lambda f: (f.stat().st_mtime, f.name)):  # the order the models were trained
        history = _read_json(file)
        if not isinstance(history, dict) or not isinstance(history.get("train_loss"), list):
            continue  # not a history `fit` wrote
        if file.parent != path:
            label = file.parent.name
        elif file.stem == "history":
            label = run.name
        else:
            label = file.stem.removeprefix("history-")
        run.histories[label] = history
    # the experiment's own order (results.json "figures") first, then any other PNG by name
    order = list((run.results or {}).get("figures") or {}) if isinstance((run.results or {}).get("figures"), dict) else []
    pictures = sorted(path.rglob("*.png"))
    rank = {name: i for i, name in enumerate(order)}
    run.pictures = sorted(pictures, key=lambda p: (rank.get(p.relative_to(path).as_posix(), len(rank)), p.as_posix()))
    return run


# --- pieces of the page --------------------------------------------------------------------------


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    """Numbers compact (4 significant digits), everything else as text."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.0f}" if abs(value) >= 1e5 else f"{value:.4g}"
    if isinstance(value, (list, tuple)) and all(not isinstance(v, (dict, list)) for v in value):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, cls: str = "") -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="{"num" if _is_number(v) else ""}">{_esc(_fmt(v))}</td>' for v in row) + "</tr>"
        for row in rows
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _inline_md(text: str) -> str:
    """Escape, then the two inline marks experiments use: `code` and **bold**."""
    out = _esc(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def markdown_to_html(text: str) -> str:
    """The small markdown subset of table.md files: headings, pipe tables, paragraphs, bullet lists."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if not line:
            i += 1
        elif line.startswith("|"):
            block = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                block.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            rule = len(block) > 1 and all(re.fullmatch(r":?-{2,}:?", c) for c in block[1] if c)
            header, rows = (block[0], block[2:]) if rule else (None, block)
            head = "".join(f"<th>{_inline_md(c)}</th>" for c in header) if header else ""
            body = "".join(
                "<tr>" + "".join(
                    f'<td class="{"num" if re.fullmatch(r"[-+]?[0-9.,]+(e[-+]?[0-9]+)?%?", c) else ""}">{_inline_md(c)}</td>'
                    for c in row
                ) + "</tr>"
                for row in rows
            )
            out.append(f"<table>{f'<thead><tr>{head}</tr></thead>' if head else ''}<tbody>{body}</tbody></table>")
        elif line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")) + 3, 6)  # '#' -> h4, under the run's "Results" h3
            out.append(f"<h{level}>{_inline_md(line.lstrip('#').strip())}</h{level}>")
            i += 1
        elif line.startswith(("- ", "* ")):
            items = []
            while i < len(lines) and lines[i].strip().startswith(("- ", "* ")):
                items.append(f"<li>{_inline_md(lines[i].strip()[2:])}</li>")
                i += 1
            out.append(f"<ul>{''.join(items)}</ul>")
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(("|", "#", "- ", "* ")):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{_inline_md(' '.join(para))}</p>")
    return "\n".join(out)


def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _figure(data: bytes, caption: str, *, cls: str = "") -> str:
    return (
        f'<figure class="{cls}"><img src="{_png_uri(data)}" alt="{_esc(caption)}">'
        f"<figcaption>{_esc(caption)}</figcaption></figure>"
    )


def _curves_png(histories: dict[str, dict[str, list]], title: str) -> bytes:
    """All `histories` on one learning-curve plot (loss, the quantity each model minimised)."""
    from .analysis import plots

    values = [v for h in histories.values() for k in ("train_loss", "val_loss") for v in h.get(k, [])]
    positive = [v for v in values if isinstance(v, (int, float)) and v > 0 and math.isfinite(v)]
    log_y = len(positive) == len(values) and bool(positive) and max(positive) / min(positive) > 30
    fig = plots.learning_curves(histories, metric="loss", title=title, log_y=log_y)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, facecolor="white")
    return buffer.getvalue()


# captions of the pictures `aekit train` writes (experiments give theirs in results.json "figures")
KNOWN_CAPTIONS = {"reconstructions.png": "Test samples (top row) above the model's reconstructions (bottom row)"}


def _caption(run: RunFolder, picture: Path) -> str:
    relative = picture.relative_to(run.path).as_posix()
    given = (run.results or {}).get("figures", {})
    if isinstance(given, dict) and isinstance(given.get(relative), str):
        return f"{given[relative]} ({relative})"
    if relative in KNOWN_CAPTIONS:
        return f"{KNOWN_CAPTIONS[relative]} ({relative})"
    words = re.sub(r"[-_]+", " ", picture.stem).strip()
    return f"{words[:1].upper()}{words[1:]} ({relative})"


# --- what each run is, in one row ----------------------------------------------------------------


def _what(run: RunFolder) -> tuple[str, str, str, str]:
    """(type, model or experiment, data, epochs) of a run, for the summary table."""
    if run.kind == "experiment":
        settings = run.config.get("settings", {}) if isinstance(run.config.get("settings"), dict) else {}
        data = settings.get("data", "—")
        if settings.get("train_limit"):
            data = f"{data} ({settings['train_limit']:,} train)" if isinstance(settings["train_limit"], int) else data
        return "experiment", str(run.config.get("experiment", "—")), str(data), _fmt(settings.get("epochs"))
    model = run.config.get("model", {}) if isinstance(run.config.get("model"), dict) else {}
    data = run.config.get("data", {}) if isinstance(run.config.get("data"), dict) else {}
    train = run.config.get("train", {}) if isinstance(run.config.get("train"), dict) else {}
    shape = "-".join(str(w) for w in [*(model.get("hidden") or []), model.get("code_size")] if w is not None)
    what = f"{model.get('name', '?')}" + (f" ({shape})" if shape else "")
    limit = f" ({data['limit']:,} train)" if isinstance(data.get("limit"), int) else ""
    epochs = run.histories[run.name]["epoch"][-1] if run.name in run.histories and run.histories[run.name].get("epoch") else train.get("epochs")
    return "train", what, f"{data.get('name', '?')}{limit}", _fmt(epochs)


def _headline(run: RunFolder) -> str:
    if run.results and isinstance(run.results.get("summary"), str):
        return run.results["summary"]
    m = run.metrics or {}
    if "squared_error_per_sample" in m:
        text = f"{m.get('split', 'test')} squared error per sample {m['squared_error_per_sample']:.4g}"
        if "pca_squared_error_per_sample" in m:
            text += f" (PCA-{m.get('pca_code_size')}: {m['pca_squared_error_per_sample']:.4g})"
        return text
    return "no results yet (interrupted or still running?)" if not (run.results or run.metrics) else ""


def _final(history: dict[str, list] | None, key: str) -> Any:
    if not history or not history.get(key):
        return None
    return history[key][-1]


# --- the page ------------------------------------------------------------------------------------

CSS = """
:root { --ink: #1d2330; --muted: #5b6474; --line: #dde2ea; --accent: #2f5fb3; --bg: #f6f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { background: #1f3b70; color: white; padding: 28px 40px 22px; }
header h1 { margin: 0 0 4px; font-size: 26px; font-weight: 600; }
header p { margin: 0; color: #c9d6f0; }
main { max-width: 1180px; margin: 0 auto; padding: 8px 28px 40px; }
nav { margin: 18px 0 8px; }
nav a { display: inline-block; margin: 0 8px 6px 0; padding: 3px 10px; border: 1px solid var(--line); border-radius: 14px; background: white; color: var(--accent); text-decoration: none; font-size: 13px; }
section { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 6px 26px 22px; margin: 20px 0; }
h2 { font-size: 21px; margin: 18px 0 4px; }
h3 { font-size: 16px; margin: 22px 0 8px; color: #2b3650; border-bottom: 1px solid var(--line); padding-bottom: 3px; }
h4, h5, h6 { font-size: 14px; margin: 14px 0 6px; }
.kind { font-size: 12px; font-weight: 600; color: white; background: var(--accent); border-radius: 10px; padding: 1px 8px; vertical-align: middle; margin-left: 8px; }
.kind.experiment { background: #7a4cb0; }
.headline { font-size: 16px; margin: 6px 0 2px; padding: 8px 12px; background: #eef3fb; border-left: 4px solid var(--accent); border-radius: 4px; }
.path { color: var(--muted); font-size: 12px; font-family: ui-monospace, monospace; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 12px; text-align: left; vertical-align: top; }
th { background: #f0f3f8; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:hover { background: #f8fafd; }
.summary td:last-child { max-width: 520px; }
.gallery { display: flex; flex-wrap: wrap; gap: 18px; }
figure { margin: 0; padding: 10px; border: 1px solid var(--line); border-radius: 6px; background: white; max-width: 100%; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 6px; max-width: 760px; }
pre { background: #f4f5f8; border: 1px solid var(--line); border-radius: 4px; padding: 10px 12px; overflow-x: auto; font-size: 13px; }
details summary { cursor: pointer; color: var(--accent); margin: 8px 0; }
.muted { color: var(--muted); }
footer { text-align: center; color: var(--muted); font-size: 12px; padding: 10px 0 30px; }
"""


def _results_html(run: RunFolder) -> str:
    parts: list[str] = []
    if run.metrics:
        rows = [(k, v) for k, v in run.metrics.items() if not isinstance(v, (dict, list))]
        parts.append("<h4>Test metrics (metrics.json)</h4>" + _table(["metric", "value"], rows))
    if run.table_md:
        parts.append(markdown_to_html(run.table_md))
    if run.results:
        shown = {k: v for k, v in run.results.items() if k not in ("summary", "figures")}
        scalars = [(k, v) for k, v in shown.items() if not isinstance(v, (dict, list))]
        if scalars:
            parts.append("<h4>Results (results.json)</h4>" + _table(["result", "value"], scalars))
        nested = {k: v for k, v in shown.items() if isinstance(v, (dict, list))}
        if nested and not run.table_md:
            for key, value in nested.items():
                parts.append(f"<h4>{_esc(key)}</h4>" + _nested_html(value))
        elif nested:
            parts.append(
                "<details><summary>All results as JSON</summary><pre>"
                + _esc(json.dumps(nested, indent=1, default=str)) + "</pre></details>"
            )
    return "\n".join(parts) or '<p class="muted">No metrics or results in this folder.</p>'


def _nested_html(value: Any) -> str:
    """A list of flat dicts as a table, a flat dict as key/value rows, anything else as JSON."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        keys = list(dict.fromkeys(k for v in value for k in v))
        if all(not isinstance(v.get(k), (dict, list)) for v in value for k in keys):
            return _table(keys, [[v.get(k) for k in keys] for v in value])
    if isinstance(value, dict) and all(not isinstance(v, (dict, list)) for v in value.values()):
        return _table(["key", "value"], list(value.items()))
    return "<pre>" + _esc(json.dumps(value, indent=1, default=str)) + "</pre>"


def _run_section(run: RunFolder, *, open_config: bool = False) -> str:
    kind, what, data, epochs = _what(run)
    parts = [
        f'<section id="{run.anchor}">',
        f'<h2>{_esc(run.name)}<span class="kind {kind}">{_esc(kind)}</span></h2>',
        f'<div class="path">{_esc(run.path.resolve())}</div>',
    ]
    headline = _headline(run)
    if headline:
        parts.append(f'<p class="headline">{_esc(headline)}</p>')
    parts.append(f"<p class=\"muted\">{_esc(what)} · data {_esc(data)} · epochs {_esc(epochs)}</p>")
    parts.append("<h3>Results</h3>" + _results_html(run))
    if run.histories:
        names = ", ".join(run.histories)
        png = _curves_png(run.histories, "Loss per epoch (solid = train, dashed = validation)")
        caption = f"Loss per epoch of {names} in {run.name} (the quantity each model minimised), from the history files"
        parts.append("<h3>Learning curves</h3>" + _figure(png, caption, cls="curves"))
    if run.pictures:
        figures = "".join(_figure(p.read_bytes(), _caption(run, p)) for p in run.pictures)
        parts.append(f'<h3>Pictures</h3><div class="gallery">{figures}</div>')
    config_name = "experiment.yaml" if run.kind == "experiment" else "config.yaml"
    parts.append(
        f"<h3>Configuration</h3><details{' open' if open_config else ''}><summary>{_esc(config_name)}</summary>"
        f"<pre>{_esc(run.config_text)}</pre></details>"
    )
    parts.append("</section>")
    return "\n".join(parts)


def _summary_section(runs: list[RunFolder]) -> str:
    rows = []
    for run in runs:
        kind, what, data, epochs = _what(run)
        only = next(iter(run.histories.values())) if len(run.histories) == 1 else None
        rows.append(
            f'<tr><td><a href="#{run.anchor}">{_esc(run.name)}</a></td><td>{_esc(kind)}</td><td>{_esc(what)}</td>'
            f'<td>{_esc(data)}</td><td class="num">{_esc(epochs)}</td>'
            f'<td class="num">{_esc(_fmt(_final(only, "train_loss")))}</td>'
            f'<td class="num">{_esc(_fmt(_final(only, "val_loss")))}</td><td>{_esc(_headline(run))}</td></tr>'
        )
    head = "".join(
        f"<th>{h}</th>" for h in ("run", "type", "model / experiment", "data", "epochs", "final train loss", "final val loss", "result")
    )
    parts = [
        '<section id="summary"><h2>Runs at a glance</h2>',
        f'<table class="summary"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>',
    ]
    with_curves = [r for r in runs if r.histories]
    if len(runs) > 1 and len(with_curves) > 1:
        combined = {
            (label if label == run.name else f"{run.name}: {label}"): history
            for run in with_curves
            for label, history in run.histories.items()
        }
        png = _curves_png(combined, "All runs: loss per epoch (solid = train, dashed = validation)")
        parts.append(
            "<h3>Learning curves of all runs</h3>"
            + _figure(png, "Loss per epoch of every model in every run, on one plot", cls="curves")
        )
    parts.append("</section>")
    return "\n".join(parts)


def render_report(runs: Sequence[RunFolder], *, title: str = "aekit report") -> str:
    """The whole page as a string."""
    runs = list(runs)
    seen: set[str] = set()
    for run in runs:  # unique ids even for two folders of the same name
        base = "run-" + re.sub(r"[^A-Za-z0-9_-]+", "-", run.name)
        run.anchor = base if base not in seen else f"{base}-{len(seen) + 1}"
        seen.add(run.anchor)
    nav = "".join(f'<a href="#{r.anchor}">{_esc(r.name)}</a>' for r in runs)
    count = f"{len(runs)} run{'s' if len(runs) != 1 else ''}"
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{_esc(title)}</h1><p>{count} · written {time.strftime('%Y-%m-%d %H:%M')} · aekit {_esc(__version__)}</p></header>",
        f'<main><nav><a href="#summary">summary</a>{nav}</nav>',
        _summary_section(runs),
        *(_run_section(r, open_config=len(runs) == 1) for r in runs),
        "</main><footer>Written by <code>aekit report</code>. Self-contained: every picture is embedded in this file.</footer>",
        "</body></html>",
    ])


def write_report(run_dirs: str | Path | Sequence[str | Path], output: str | Path, *, title: str = "aekit report") -> Path:
    """Write one self-contained HTML page about `run_dirs` to `output` (atomically); returns its path."""
    dirs = [run_dirs] if isinstance(run_dirs, (str, Path)) else list(run_dirs)
    if not dirs:
        raise ConfigError("report: give at least one run folder")
    output = Path(output)
    if output.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"report: the output file must end in .html, got {output}")
    page = render_report([read_run_folder(d) for d in dirs], title=title)
    atomic_write_text(output, page)
    return output
