"""Rules the test suite keeps about itself, checked on its source.

Test modules share helpers through plain modules (clocks, sample_digests, ledger_helpers, waiting, ...)
and fixtures through conftest.py, never by importing each other: importing a test module runs its
collection-time code again and ties two files' private details together. The project's own modules
are imported normally (an import error must fail, not skip), and only by their public names.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

TESTS = Path(__file__).resolve().parent


@cache
def modules() -> dict[str, ast.Module]:
    """Every Python file of the suite (tests and helpers), parsed, by its path relative to tests/;
    parsed once for all the rules (the suite is ~900 KB of source)."""
    return {
        str(path.relative_to(TESTS)): ast.parse(path.read_text(encoding="utf-8"), str(path))
        for path in sorted(TESTS.rglob("*.py"))
    }


def imported(tree: ast.Module) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) for every import statement; names are empty for `import x`."""
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return found


def test_no_test_module_imports_another() -> None:
    offenders = [
        f"{path}:{line}: {module}"
        for path, tree in modules().items()
        for line, module, _ in imported(tree)
        if module.split(".")[0].startswith("test_")
    ]
    assert offenders == [], "move what they share into a helper module or conftest.py"


def test_no_private_names_are_imported() -> None:
    offenders = [
        f"{path}:{line}: {name} from {module}"
        for path, tree in modules().items()
        for line, module, names in imported(tree)
        for name in names
        if name.startswith("_") and module != "__future__"
    ]
    assert offenders == []


def test_the_projects_own_modules_are_never_import_skipped() -> None:
    offenders = [
        f"{path}:{node.lineno}"
        for path, tree in modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "importorskip"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and str(node.args[0].value).split(".")[0] == "bot"
    ]
    assert offenders == []
