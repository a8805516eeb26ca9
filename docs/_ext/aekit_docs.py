"""Sphinx helpers for aekit's site: a gallery scraper for aekit's figures and a config-keys table.

aekit's analysis functions return matplotlib ``Figure`` objects made without pyplot (so that the
library never touches a global figure state), which sphinx-gallery's matplotlib scraper cannot
see. ``scrape_figures`` finds them among an example's variables after each code block instead.
"""

from __future__ import annotations

import dataclasses
import re
import typing
import weakref

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.transforms import SphinxTransform
from sphinx.util.docutils import SphinxDirective

_shown: weakref.WeakSet = weakref.WeakSet()  # figures already put on a page


def scrape_figures(block, block_vars, gallery_conf, **kwargs):
    """sphinx-gallery image scraper: every Figure variable not drawn yet (pyplot's figures excluded)."""
    from matplotlib.figure import Figure
    from sphinx_gallery.scrapers import figure_rst

    found = []
    for value in list(block_vars["example_globals"].values()):
        candidates = value if isinstance(value, (list, tuple)) else [value]
        for fig in candidates:
            if not isinstance(fig, Figure) or fig in _shown:
                continue
            if fig.canvas.manager is not None:  # pyplot's: its scraper saves and closes it, which drops
                _shown.add(fig)  # the manager, so remember it or the next block would draw it again
            else:
                found.append(fig)
    paths = []
    for fig, path in zip(found, block_vars["image_path_iterator"]):
        fig.savefig(path, dpi=100, facecolor="white")
        _shown.add(fig)
        paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])


def reset_seed(gallery_conf, fname):
    """Before each lesson: torch's generator seeded, as a lesson run on its own seeds it (_budget.py)."""
    import torch

    torch.manual_seed(0)


def _get_sg_image_scraper():
    """How sphinx-gallery finds the scraper from the name "aekit_docs" in its image_scrapers."""
    return scrape_figures


def _type_name(tp) -> str:
    """`Literal['bce', 'mse']`, `tuple[int, ...] | None`, `float`: the annotation as written."""
    text = tp.__name__ if isinstance(tp, type) else str(tp)
    return text.replace("typing.", "")


class ConfigKeys(SphinxDirective):
    """``.. aekit-config-keys:: dense``: a table of a model's config keys, types and defaults."""

    required_arguments = 1

    def run(self):
        from aekit.errors import ConfigError
        from aekit.registry import model_entry

        try:
            cls = model_entry(self.arguments[0]).cls.Config
        except ConfigError as err:  # a warning at the directive's line, not Sphinx's traceback (a contributor trial)
            return [self.state.document.reporter.warning(f"aekit-config-keys: {err}", line=self.lineno)]
        hints = typing.get_type_hints(cls)
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 25 45 30", "",
                 "   * - key", "     - type", "     - default"]
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                default = f"``{f.default!r}``"
            elif f.default_factory is not dataclasses.MISSING:
                default = f"``{f.default_factory()!r}``"
            else:
                default = "required" if f.name != "input_shape" else "from the data"
            lines += [f"   * - ``{f.name}``", f"     - ``{_type_name(hints.get(f.name, f.type))}``", f"     - {default}"]
        node = nodes.container()
        self.state.nested_parse(StringList(lines, source="aekit-config-keys"), self.content_offset, node)
        return node.children


# --- docstrings ----------------------------------------------------------------------------------
# aekit's docstrings are plain text (`name` for code, indented continuation lines, `fitted_`
# attributes), not reStructuredText. They are shown as written: each line kept as a line (an rST
# line block), `code` as inline literals, and everything else that rST would read as markup escaped.

_CODE = re.compile(r"(`+)(.+?)\1")
_MARKUP = re.compile(r"([\\*|`])|(?<=\w)_(?=\W|$)")


def _escape(text: str) -> str:
    return _MARKUP.sub(lambda m: "\\" + (m.group(1) or "_"), text)


def _plain_line(line: str) -> str:
    out, last = [], 0
    for m in _CODE.finditer(line):
        out.append(_escape(line[last : m.start()]))
        code = m.group(2).strip()
        out.append(f"``{code}``" if code and "`" not in code else _escape(m.group(0)))
        last = m.end()
    out.append(_escape(line[last:]))
    return "".join(out)


def plain_docstrings(app, what, name, obj, options, lines):
    """autodoc-process-docstring: aekit's plain-text docstrings as line blocks, markup escaped."""
    if not name.startswith("aekit"):
        return
    lines[:] = [f"| {_plain_line(line)}" if line.strip() else "" for line in lines]


def skip_generated_members(app, what, name, obj, skip, options):
    """scikit-learn adds set_*_request methods to every estimator; they are sklearn's, not aekit's."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


class NoMailto(SphinxTransform):
    """docutils reads "precision@10" as an e-mail address and links it to a mail client (a browser trial):
    the project quotes no address, so every mailto link is its text again."""

    default_priority = 999

    def apply(self):
        for node in list(self.document.findall(nodes.reference)):
            if node.get("refuri", "").startswith("mailto:"):
                node.replace_self(nodes.Text(node.astext()))


def setup(app):
    app.add_transform(NoMailto)
    app.add_directive("aekit-config-keys", ConfigKeys)
    app.connect("autodoc-process-docstring", plain_docstrings)
    app.connect("autodoc-skip-member", skip_generated_members)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
