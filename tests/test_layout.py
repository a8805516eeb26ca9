"""The package's layers import one way only (README, "Architecture"): apps -> analysis, training ->
models -> data -> the core files. Checked on the source, function-level imports included."""

from __future__ import annotations

import ast
from pathlib import Path

import aekit

PACKAGE = Path(aekit.__file__).parent
# what each folder may import from the package, besides itself and the core files
ALLOWED = {
    "data": set(),
    "models": {"data"},
    "training": {"data", "models"},
    "analysis": {"data", "models"},
    "apps": {"data", "models", "training", "analysis"},
}


def imported_folders(path: Path, package: Path = PACKAGE) -> set[str]:
    """The package folders (data, models, ...) that module `path` of `package` imports from."""
    parts = path.relative_to(package).with_suffix("").parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's own package
                base = list(parts[: len(parts) - node.level])
                target = base + (node.module.split(".") if node.module else [])
                names = [target + [alias.name] for alias in node.names] if not node.module else [target]
            elif (node.module or "").startswith("aekit."):
                names = [node.module.split(".")[1:]]
            else:
                continue
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1:] for a in node.names if a.name.startswith("aekit.")]
        else:
            continue
        found.update(name[0] for name in names if name and name[0] in ALLOWED)
    return found


def test_layers_import_one_way_only():
    wrong = []
    for folder, allowed in ALLOWED.items():
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            extra = imported_folders(path) - allowed - {folder}
            if extra:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {sorted(extra)}")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_wrong_import(tmp_path):
    fake = tmp_path / "models"
    fake.mkdir()
    (fake / "bad.py").write_text("def f():\n    from ..training.loop import fit\n    from aekit.apps import cli\n")
    assert imported_folders(fake / "bad.py", tmp_path) == {"training", "apps"}


def test_every_test_the_readme_names_exists():
    """The README's promise table names the test that keeps each promise: each must be there."""
    import re

    root = PACKAGE.parents[1]
    rows = [line for line in (root / "README.md").read_text().splitlines() if line.startswith("| **")]
    named = 0
    for row in rows:
        file = None
        for path, test in re.findall(r"`(tests/\w+\.py)?(?:::(\w+))?`", row.rsplit("|", 2)[-2]):
            file = root / path if path else file
            assert file is not None and file.is_file(), f"{path or test}: no such test file ({row[:60]})"
            if test:
                named += 1
                assert re.search(rf"^def {test}\(", file.read_text(), re.M), f"{file.name} has no test {test}"
    assert len(rows) > 10 and named > 10
