"""The package's shape as tests: layers only import downwards, and every module stays readable."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "clhelpers"

# level of every module: a module may import modules of its own or a lower level, never a higher one
LAYERS = {
    "similarity": 0, "losses": 0, "flawed": 0, "metrics": 0, "checks": 0, "playground": 0,  # Math
    "data": 1, "augment": 1, "models": 1, "methods": 1, "method_parts": 1, "device": 1,  # Data and Model
    "config": 2, "train": 2, "evaluate": 2, "sweeps": 2, "bench": 2, "lint": 2, "__main__": 2,  # Engine and CLI
    "plots": 3, "plots_results": 3, "widgets": 3, "exercises": 3, "exercises_results": 3, "exercises_collapse": 3,
    "widgets_playground": 3,  # Show
}
LAYER_NAMES = {0: "Math", 1: "Data/Model", 2: "Engine", 3: "Show"}
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def clhelpers_imports(path: Path) -> set[str]:
    """Names of the clhelpers modules that ``path`` imports (relative or absolute, anywhere in the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("clhelpers."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("clhelpers."))
    return found


def test_every_module_has_a_layer():
    unknown = [p.stem for p in modules() if p.stem not in LAYERS]
    assert not unknown, f"give these modules a layer in tests/test_layers.py: {unknown}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.stem)
def test_imports_only_go_down(path):
    level = LAYERS[path.stem]
    upward = {m: LAYER_NAMES[LAYERS[m]] for m in clhelpers_imports(path) if LAYERS.get(m, -1) > level}
    assert not upward, f"{path.name} ({LAYER_NAMES[level]}) imports higher layers: {upward}"


def test_the_engine_never_imports_widgets_or_figures():
    for path in modules():
        if LAYERS[path.stem] <= 2:
            assert not clhelpers_imports(path) & {"widgets", "plots"}, path.name
            source = path.read_text()
            assert "import matplotlib" not in source and "ipywidgets" not in source, path.name


def test_the_layer_check_catches_an_upward_import(tmp_path):
    bad = tmp_path / "losses.py"
    bad.write_text("from .train import train\nfrom clhelpers.plots import image_grid\n")
    assert clhelpers_imports(bad) == {"train", "plots"}


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.stem)
def test_modules_and_functions_stay_short(path):
    source = path.read_text()
    assert len(source.splitlines()) <= MAX_MODULE_LINES, f"{path.name}: split it (one job per file)"
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{path.name}: functions over {MAX_FUNCTION_LINES} lines: {long}"
