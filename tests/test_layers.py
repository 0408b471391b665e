"""The package's shape as tests: layers only import downwards, no import cycles, no borrowed private names,
and every function stays readable. Files are cut by job, not by length, so there is no line limit per module."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "clhelpers"

# level of every top-level module or subpackage: a module may import its own or a lower level, never a higher one
LAYERS = {
    "similarity": 0, "validate": 0, "losses": 0, "flawed": 0, "metrics": 0, "checks": 0, "diagnoses": 0,
    "playground": 0,  # Math
    "data": 1, "download": 1, "augment": 1, "models": 1, "methods": 1, "device": 1, "files": 1,  # Data and Model
    "config": 2, "train": 2, "evaluate": 2, "sweeps": 2, "bench": 2, "records": 2, "lint": 2, "loss_targets": 2,
    "lint_errors": 2, "cli": 2,  # Engine
    "__main__": 2,
    "plots": 3, "widgets": 3, "exercises": 3,  # Show (subpackages)
}
LAYER_NAMES = {0: "Math", 1: "Data/Model", 2: "Engine", 3: "Show"}
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    """``plots/_style.py`` -> ``plots._style``; ``plots/__init__.py`` -> ``plots``; ``losses.py`` -> ``losses``."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py" and "__pycache__" not in p.parts)


def _is_main_guard(node: ast.AST) -> bool:
    """``if __name__ == "__main__":``, the block of an older entry point's shim (never run on import)."""
    test = getattr(node, "test", None)
    return (isinstance(node, ast.If) and isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__")


def _walk_outside_main_guard(tree: ast.AST):
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child for child in ast.iter_child_nodes(node) if not _is_main_guard(child))


def imported(path: Path) -> list[tuple[str, list[str]]]:
    """``(clhelpers module, names taken from it)`` for every import in ``path`` outside a ``__main__`` guard."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in _walk_outside_main_guard(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names]
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
                if not node.module:  # from . import lint, plots
                    found.extend((".".join([*base, n]).strip("."), []) for n in names)
                    continue
            elif node.module and node.module.startswith("clhelpers."):
                target = node.module[len("clhelpers."):]
            else:
                continue
            found.append((target, names))
        elif isinstance(node, ast.Import):
            found.extend((a.name[len("clhelpers."):], []) for a in node.names if a.name.startswith("clhelpers."))
    return found


def top(name: str) -> str:
    return name.split(".")[0]


def test_every_module_has_a_layer():
    unknown = sorted({top(module_name(p)) for p in modules()} - set(LAYERS))
    assert not unknown, f"give these modules a layer in tests/test_layers.py: {unknown}"


@pytest.mark.parametrize("path", modules(), ids=module_name)
def test_imports_only_go_down(path):
    level = LAYERS[top(module_name(path))]
    upward = {m: LAYER_NAMES[LAYERS[top(m)]] for m, _ in imported(path) if LAYERS.get(top(m), -1) > level}
    assert not upward, f"{module_name(path)} ({LAYER_NAMES[level]}) imports higher layers: {upward}"


def _private_borrowed(path: Path) -> list[str]:
    """Private names (``_x``) that ``path`` takes from another module, or any import of another package's
    private module; a subpackage's own ``_`` modules (``plots._style`` from ``plots.views``) are allowed."""
    me = module_name(path)
    bad = []
    for target, names in imported(path):
        same_package = top(target) == top(me) and "." in me + target
        private_module = any(part.startswith("_") for part in target.split("."))
        if private_module and not same_package:
            bad.append(target)
        bad.extend(f"{target}.{n}" for n in names if n.startswith("_") and not same_package)
    return bad


@pytest.mark.parametrize("path", modules(), ids=module_name)
def test_no_module_imports_another_modules_private_names(path):
    bad = _private_borrowed(path)
    assert not bad, f"{module_name(path)} imports private names of other modules: {bad}; make them public or move them"


def import_graph() -> dict[str, set[str]]:
    return {module_name(p): {t for t, _ in imported(p)} for p in modules()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_there_are_no_import_cycles():
    assert find_cycle(import_graph()) is None, f"import cycle: {' -> '.join(find_cycle(import_graph()))}"


def test_nothing_imports_the_command_line_entry_module():
    importers = sorted(m for m, targets in import_graph().items() if "__main__" in targets)
    assert not importers, f"{importers} import clhelpers.__main__; import clhelpers.cli instead"


def test_the_engine_never_imports_widgets_or_figures():
    for path in modules():
        if LAYERS[top(module_name(path))] <= 2:
            assert not {top(t) for t, _ in imported(path)} & {"widgets", "plots", "exercises"}, path.name
            source = path.read_text()
            assert "import matplotlib" not in source and "ipywidgets" not in source, path.name


def test_the_checks_catch_what_they_are_for(tmp_path, monkeypatch):
    """Each rule fails on a module written to break it."""
    fake = tmp_path / "clhelpers"
    (fake / "plots").mkdir(parents=True)
    (fake / "losses.py").write_text("from .train import train\nfrom clhelpers.plots import image_grid\n"
                                    "from .metrics import _helper\n")
    (fake / "plots" / "views.py").write_text("from ._style import _STYLE\nfrom ..widgets._ui import _show\n")
    (fake / "cli.py").write_text("if __name__ == '__main__':\n    from clhelpers.__main__ import x\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    assert {t for t, _ in imported(fake / "losses.py")} == {"train", "plots", "metrics"}
    assert _private_borrowed(fake / "losses.py") == ["metrics._helper"]
    assert _private_borrowed(fake / "plots" / "views.py") == ["widgets._ui", "widgets._ui._show"]
    assert imported(fake / "cli.py") == []  # the shim under the __main__ guard is not an import of the package
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("path", modules(), ids=module_name)
def test_functions_stay_short(path):
    source = path.read_text()
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{path.name}: functions over {MAX_FUNCTION_LINES} lines: {long}"
