"""Fetch the three JavaScript libraries the site serves itself, so that its pages work offline.

The rendered notebooks need MathJax (the formulas), RequireJS and the Jupyter widgets' HTML manager
(the saved sliders and progress bars). By default Sphinx and nbsphinx load them from public CDNs,
which a reader without network (and the browser test, which runs offline) cannot reach. This script
downloads pinned versions once from npm (``npm pack``; npm's cache answers repeated runs), checks
each tarball against the integrity hash pinned below, and unpacks the few files the pages load into
``docs/_static/vendor/`` (git-ignored). ``docs/conf.py`` serves them from there when present and
falls back to the CDNs otherwise.

Run from anywhere: ``python docs/fetch_js.py`` (about 15 s; needs ``npm`` and network once).
Licences: MathJax Apache-2.0, RequireJS MIT, @jupyter-widgets/html-manager BSD-3-Clause; each
package's licence file (or package.json, which names it) is copied beside it.
"""
from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parent / "_static" / "vendor"

# name@version -> (npm integrity, [(path inside the tarball's package/, path under vendor/)])
PACKAGES = {
    "requirejs@2.3.8": (
        "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
        [("require.js", "require.js"), ("README.md", "requirejs-README.md")],
    ),
    "@jupyter-widgets/html-manager@1.0.15": (
        "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        [("dist/embed-amd.js", "html-manager/embed-amd.js"), ("package.json", "html-manager/package.json")]
        + [(f"dist/{font}", f"html-manager/{font}") for font in ("*.woff2", "*.woff", "*.ttf", "*.eot", "*.svg")],
    ),
    "mathjax@3.2.2": (
        "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        [("LICENSE", "mathjax/LICENSE"), ("es5/tex-chtml.js", "mathjax/tex-chtml.js")]
        + [(f"es5/{d}", f"mathjax/{d}") for d in ("input", "output/chtml", "a11y", "ui", "adaptors")],
    ),
}


def integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def fetch(spec: str, expected: str, files: list[tuple[str, str]], work: Path) -> None:
    out = subprocess.run(["npm", "pack", "--silent", spec], cwd=work, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"npm pack {spec} failed:\n{out.stderr}")
    tarball = work / out.stdout.strip().splitlines()[-1]
    if integrity(tarball) != expected:
        sys.exit(f"{spec}: integrity {integrity(tarball)} differs from the pinned {expected}")
    unpacked = work / tarball.stem
    with tarfile.open(tarball) as tar:
        tar.extractall(unpacked, filter="data")
    package = unpacked / "package"
    for pattern, target in files:
        sources = sorted(package.glob(pattern)) if "*" in pattern else [package / pattern]
        for source in sources:
            dest = VENDOR / (target.replace(Path(pattern).name, source.name) if "*" in pattern else target)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, dest, dirs_exist_ok=True)
            else:
                shutil.copy2(source, dest)


def main() -> int:
    if shutil.which("npm") is None:
        sys.exit("npm not found: install Node.js/npm (Debian: apt-get install npm) and run again")
    shutil.rmtree(VENDOR, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        for spec, (expected, files) in PACKAGES.items():
            fetch(spec, expected, files, Path(tmp))
            print(f"{spec}: ok")
    print(f"vendored into {VENDOR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
