"""The site's own glue (docs/_ext/clsite.py) on small inputs: fast, no Sphinx build, so not marked slow."""
from __future__ import annotations

import pytest

import clsite
from sitetools import REPO


def text_of(path):
    return path.read_text(encoding="utf-8")


def test_emphasis_is_split_around_math():
    split = clsite.split_emphasis_around_math
    assert split("> *Which of the other $2N - 1$ views?*") == "> *Which of the other* $2N - 1$ *views?*"
    assert split("$a*b$ and $c*d$, *plain*, **bold**") == "$a*b$ and $c*d$, *plain*, **bold**"
    assert split("```\n*a $x$ b*\n```") == "```\n*a $x$ b*\n```"


def test_readme_section_finder():
    readme = "# T\n\n## A\n\na\n\n```bash\n## not a heading\n```\n\n### sub\n\n## B\nb\n"
    assert clsite.readme_section(readme, "A") == "# A\n\na\n\n```bash\n## not a heading\n```\n\n### sub\n"
    with pytest.raises(ValueError, match="no section"):
        clsite.readme_section(readme, "Missing")


def test_collapsed_cells_stay_collapsed():
    hidden_md = {"cell_type": "markdown", "metadata": {"jupyter": {"source_hidden": True}}, "source": "the answer"}
    hidden_code = {"cell_type": "code", "metadata": {"jupyter": {"source_hidden": True}}, "source": "x = 1", "outputs": [], "execution_count": 1}
    out = clsite.site_cells([hidden_md, hidden_code])
    assert all(c["cell_type"] == "markdown" and c["source"].startswith("<details>") for c in out)
    assert "the answer" in out[0]["source"] and "x = 1" in out[1]["source"]


def test_plural_literals_in_docstrings():
    lines = ["as ``nn.Module``s with", "``a`` and ``b``."]
    clsite.fix_plural_literals(lines)
    assert lines == ["as ``nn.Module``\\ s with", "``a`` and ``b``."]


def test_build_folder_is_git_ignored():
    ignored = text_of(REPO / ".gitignore").splitlines()
    for entry in ("docs/_build/", "docs/notebooks/", "docs/reference/", "docs/_static/vendor/", "tests/site/artifacts/"):
        assert entry in ignored, entry


def test_reference_follows_the_package(tmp_path, monkeypatch):
    """A package with a subpackage that re-exports from a private module: every public name gets one entry."""
    pkg = tmp_path / "demo_pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""Demo."""\n')
    (pkg / "__main__.py").write_text("raise SystemExit('__main__ must never be imported')\n")
    (pkg / "core.py").write_text('"""Core."""\nfrom math import sqrt\n\ndef f():\n    """F."""\n\nclass C:\n    """C."""\n')
    (pkg / "sub" / "__init__.py").write_text('"""Sub."""\nfrom ._impl import g\nfrom .more import h\n__all__ = ["g", "h"]\n')
    (pkg / "sub" / "_impl.py").write_text('def g():\n    """G."""\n')
    (pkg / "sub" / "more.py").write_text('def h():\n    """H."""\n\ndef k():\n    """K."""\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "ref"
    written = clsite.write_reference("demo_pkg", out)
    assert written == ["demo_pkg", "demo_pkg.core", "demo_pkg.sub", "demo_pkg.sub.more"]
    core, sub, more = (text_of(out / f"demo_pkg.{n}.rst") for n in ("core", "sub", "sub.more"))
    assert ".. autofunction:: f" in core and ".. autoclass:: C" in core and "sqrt" not in core
    assert ".. autofunction:: g" in sub and ".. autofunction:: h" in sub
    assert ".. autofunction:: h" not in more and ".. autofunction:: k" in more  # h: documented once, in sub
