"""An offline link check over a built HTML site: every internal link, image and script resolves.

For each ``*.html`` file (outside ``_static``/``_sources``): every ``href``/``src`` that is not
external (``http:``, ``https:``, ``mailto:``, ``data:``, ``javascript:``, ``//host``) must name a file
of the site, and its ``#fragment`` an ``id`` (or ``<a name>``) in that file. External links are
listed, never fetched.

    python tests/site/linkcheck.py docs/_build/html     # prints the broken ones; exit 1 if any
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

EXTERNAL = ("http:", "https:", "mailto:", "data:", "javascript:", "tel:", "ftp:")
LINK_ATTRS = {"a": "href", "link": "href", "img": "src", "script": "src", "iframe": "src", "source": "src"}


@dataclass
class Page:
    ids: set[str] = field(default_factory=set)
    links: list[tuple[str, str]] = field(default_factory=list)  # (tag, url)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id",):
            if a.get(key):
                self.page.ids.add(a[key])
        if tag == "a" and a.get("name"):
            self.page.ids.add(a["name"])
        attr = LINK_ATTRS.get(tag)
        if attr and a.get(attr):
            self.page.links.append((tag, a[attr]))


def parse(path: Path) -> Page:
    parser = _Parser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser.page


def html_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.html")):
        rel = path.relative_to(root).parts
        if rel[0] not in ("_static", "_sources"):
            yield path


def check_site(root: Path) -> tuple[list[str], int, set[str]]:
    """(broken links as 'page: url (why)', the number of internal links checked, the external URLs seen)."""
    root = root.resolve()
    pages: dict[Path, Page] = {}

    def page_of(path: Path) -> Page:
        if path not in pages:
            pages[path] = parse(path)
        return pages[path]

    broken, checked, external = [], 0, set()
    for path in html_files(root):
        for tag, url in page_of(path).links:
            if url.startswith(EXTERNAL) or url.startswith("//"):
                external.add(url)
                continue
            parts = urlsplit(url)
            checked += 1
            target = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            where = f"{path.relative_to(root)}: {url}"
            if root not in target.parents and target != root:
                broken.append(f"{where} (points outside the site)")
            elif not target.is_file():
                broken.append(f"{where} (no such file)")
            elif parts.fragment and target.suffix == ".html" and not ({parts.fragment, unquote(parts.fragment)} & page_of(target).ids):
                # a browser tries the fragment as written, then percent-decoded (HTML's "find a potential indicated element")
                broken.append(f"{where} (no anchor #{parts.fragment} in {target.relative_to(root)})")
    return broken, checked, external


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "docs/_build/html")
    broken, checked, external = check_site(root)
    print(f"{checked} internal links checked, {len(broken)} broken; {len(external)} external (not fetched)")
    for line in broken:
        print("  " + line)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
