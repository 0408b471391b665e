"""The site's own glue, kept out of conf.py so that each piece can be tested on its own.

* ``stage_notebooks``: copies the stored notebooks (never re-executed) into ``docs/notebooks/``
  (git-ignored), adding a note under every slider: moving it needs a running kernel, and the
  static twin with fixed values follows; the unchanged files go to ``docs/notebooks/download/``
  for the pages' download links.
* ``readme_section``: the text of one ``## `` section of README.md, found by its title.
* The ``source-read`` hook replaces a line ``<!-- readme-section: TITLE -->`` in a page with that
  section of README.md, so the "Is my NT-Xent right?" page renders README's text (no copy in docs/).
* Exercise solutions (``<details>`` in markdown cells, or cells whose source or outputs are
  collapsed in JupyterLab: ``metadata.jupyter.source_hidden`` / ``outputs_hidden``) stay collapsed:
  ``<details>`` passes through pandoc as raw HTML; a collapsed cell is wrapped in one on the way in.
"""
from __future__ import annotations

import copy
import importlib
import inspect
import json
import pkgutil
import re
import shutil
from pathlib import Path

SLIDER_NOTE = (
    '<div class="alert alert-info">\n\n'
    "**This slider needs a running kernel.** On this page it shows the state saved when the notebook "
    "was last run; to move it, open the notebook in JupyterLab (see the Quick start on the landing page). "
    "The static twin right below shows the same picture at fixed values.\n\n"
    "</div>"
)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MARKER = re.compile(r"^<!--\s*readme-section:\s*(.+?)\s*-->\s*$", re.MULTILINE)


def is_slider_output(output: dict) -> bool:
    """An ``interact``-style widget (sliders), as opposed to a progress bar."""
    data = output.get("data", {})
    text = "".join(data.get("text/plain", ""))
    return WIDGET_VIEW in data and ("Slider" in text or text.startswith("interactive("))


def _md_cell(text: str) -> dict:
    return {"cell_type": "markdown", "id": "", "metadata": {}, "source": text}


# *emphasis* or **strong** on one line, opened after a space/punctuation and closed before one.
EMPHASIS = re.compile(r"(?<![\w*\\])(\*\*?)(?=\S)([^*\n]*?\S)\1(?![\w*])")
INLINE_MATH = re.compile(r"(\$[^$\n]+\$)")


def split_emphasis_around_math(text: str) -> str:
    """``*the other $2N - 1$ views*`` -> ``*the other* $2N - 1$ *views*``.

    nbsphinx converts markdown cells to reStructuredText with pandoc, and reST cannot nest markup:
    math inside emphasis comes out as the literal text ":math:`2N - 1`". Splitting the emphasis
    around the formula renders the same words (formulas are italic anyway). Code blocks are left alone.
    """
    def fix(m: re.Match) -> str:
        mark, body = m.group(1), m.group(2)
        if "$" not in body:
            return m.group(0)
        parts = [p for p in INLINE_MATH.split(body) if p]
        out = []
        for part in parts:
            if part.startswith("$") or not part.strip():
                out.append(part)
            else:
                lead, core, trail = part[: len(part) - len(part.lstrip())], part.strip(), part[len(part.rstrip()):]
                out.append(f"{lead}{mark}{core}{mark}{trail}")
        return "".join(out)

    chunks = re.split(r"(```[\s\S]*?```)", text)
    return "".join(c if c.startswith("```") else EMPHASIS.sub(fix, c) for c in chunks)


def _collapsed(cell: dict) -> dict:
    """A cell JupyterLab shows collapsed, wrapped so that the site shows it collapsed too."""
    meta = cell.get("metadata", {}).get("jupyter", {})
    hidden = meta.get("source_hidden") or meta.get("outputs_hidden")
    if not hidden or cell["cell_type"] != "markdown":
        return cell
    source = "".join(cell["source"])
    if source.lstrip().startswith("<details"):
        return cell
    out = copy.deepcopy(cell)
    out["source"] = f"<details><summary>Show the hidden cell</summary>\n\n{source}\n\n</details>"
    return out


def site_cells(cells: list[dict]) -> list[dict]:
    """The cells as the site shows them: a note after each slider, collapsed cells kept collapsed."""
    out: list[dict] = []
    for cell in cells:
        if cell["cell_type"] == "code":
            meta = cell.get("metadata", {}).get("jupyter", {})
            if meta.get("source_hidden") or meta.get("outputs_hidden"):
                # nbsphinx cannot fold a code cell: its source goes folded into a <details> block,
                # its outputs stay (unless JupyterLab hid them too).
                body = "".join(cell["source"])
                out.append(_md_cell(f"<details><summary>Show the hidden code</summary>\n\n```python\n{body}\n```\n\n</details>"))
                if not meta.get("outputs_hidden") and cell.get("outputs"):
                    stub = copy.deepcopy(cell)
                    stub["source"] = "# (the code of this cell is folded above)"
                    out.append(stub)
                continue
            out.append(cell)
            if any(is_slider_output(o) for o in cell.get("outputs", [])):
                out.append(_md_cell(SLIDER_NOTE))
        else:
            cell = _collapsed(cell)
            if cell["cell_type"] == "markdown":
                cell = {**cell, "source": split_emphasis_around_math("".join(cell["source"]))}
            out.append(cell)
    return out


def stage_notebooks(source: Path, target: Path) -> list[str]:
    """Copy ``source/*.ipynb`` into ``target`` (emptied first) as the site shows them; return their names."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    names = []
    for path in sorted(source.glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        nb["cells"] = site_cells(nb["cells"])
        for i, cell in enumerate(nb["cells"]):
            if not cell.get("id"):
                cell["id"] = f"site-{i}"  # the cells added here (nbformat 4.5 wants an id on every cell)
        (target / path.name).write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")
        (target / "download").mkdir(exist_ok=True)
        shutil.copyfile(path, target / "download" / path.name)  # the reader downloads the notebook as stored
        names.append(path.name)
    return names


def readme_section(readme: str, title: str) -> str:
    """The ``## title`` section of README (its heading made the page's ``#`` title), up to the next ``## ``.

    Code fences are skipped when looking for headings. Raises ValueError when the title is missing,
    so a renamed section fails the build instead of producing an empty page.
    """
    lines = readme.splitlines()
    start, end, fence = None, len(lines), False
    for i, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        if fence:
            continue
        level = len(line) - len(line.lstrip("#"))
        if start is None and level == 2 and line[2:].strip() == title:
            start = i
        elif start is not None and 1 <= level <= 2 and line[level:level + 1] == " ":
            end = i
            break
    if start is None:
        raise ValueError(f"README.md has no section '## {title}'")
    return "\n".join(["# " + title] + lines[start + 1:end]).rstrip() + "\n"


def public_modules(package: str) -> list[str]:
    """The package and every module/subpackage below it whose dotted name has no ``_``-part.

    Found by walking the package's folders, so modules added, moved or renamed need no list to
    update; ``__main__`` and private modules (``_style``) are left out (never imported here).
    """
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, package + ".", onerror=lambda name: None):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(names, key=lambda n: (n.count("."), n))  # packages before what they contain


def public_members(module) -> list[tuple[str, str]]:
    """(name, autodoc directive) of the functions and classes a module offers: those of its ``__all__``
    if it has one, else those defined in it (not imported), in source order. Constants are left out."""
    if hasattr(module, "__all__"):
        names = list(module.__all__)
    else:
        names = [n for n, v in vars(module).items() if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__]
    out = []
    for name in names:
        value = getattr(module, name, None)
        if inspect.isclass(value):
            out.append((name, "autoexception" if issubclass(value, BaseException) else "autoclass"))
        elif inspect.isfunction(value) or inspect.isbuiltin(value):
            out.append((name, "autofunction"))
    return out


def write_reference(package: str, target: Path, warn=print) -> list[str]:
    """One page per public module into ``target`` (emptied first): the module's docstring, then each public
    function and class (autodoc; the page's side bar lists them). An object is documented once, where the
    notebooks import it from: a package's ``__all__`` claims it before the submodule that defines it."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    seen: set[int] = set()
    written = []
    for name in public_modules(package):
        try:
            module = importlib.import_module(name)
        except Exception as err:  # a module that cannot be imported cannot be documented: say which
            warn(f"reference: cannot import {name}: {type(err).__name__}: {err}")
            continue
        members = []
        for member, directive in public_members(module):
            value = getattr(module, member, None)
            if id(value) in seen:
                continue
            seen.add(id(value))
            members.append((member, directive))
        lines = [name, "=" * len(name), "", f".. automodule:: {name}", "   :no-members:", "",
                 f".. currentmodule:: {name}", ""]  # fmt: skip
        for member, directive in members:
            lines += [f".. {directive}:: {member}"]
            lines += ["   :members:", "   :show-inheritance:"] if directive in ("autoclass", "autoexception") else []
            lines += [""]
        (target / f"{name}.rst").write_text("\n".join(lines), encoding="utf-8")
        written.append(name)
    return written


PLURAL_LITERAL = re.compile(r"(?<![`\w])(``[^`\s](?:[^`\n]*[^`\s])?``)(?=[A-Za-z])")


def fix_plural_literals(lines: list[str]) -> None:
    """``Method``s -> ``Method``\\ s: a plain-text idiom of the docstrings that reST rejects
    ("Inline literal start-string without end-string"); every other markup error still fails the build."""
    lines[:] = [PLURAL_LITERAL.sub(r"\1\\ ", line) for line in lines]


def setup(app):
    from sphinx.util import logging

    logger = logging.getLogger("clsite")
    app.add_config_value("clsite_readme", "", "env")
    app.add_config_value("clsite_package", "", "env")
    app.add_config_value("clsite_reference_dir", "", "env")

    def builder_inited(app):
        if app.config.clsite_package:
            write_reference(app.config.clsite_package, Path(app.config.clsite_reference_dir), warn=logger.warning)

    app.connect("builder-inited", builder_inited)

    def source_read(app, docname, content):
        text = content[0]
        if "readme-section" not in text:
            return
        readme = Path(app.config.clsite_readme).read_text(encoding="utf-8")
        content[0] = MARKER.sub(lambda m: readme_section(readme, m.group(1)), text)
        app.env.note_dependency(app.config.clsite_readme)

    app.connect("source-read", source_read)
    app.connect("autodoc-process-docstring", lambda app, what, name, obj, options, lines: fix_plural_literals(lines))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
