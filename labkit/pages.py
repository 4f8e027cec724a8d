"""Report pages that a reader opens offline: executed notebooks as HTML, with a way around.

nbconvert's own page loads MathJax, require.js, mermaid and the widget manager from
CDNs, so offline it shows raw TeX. These pages load nothing from a network: maths is
converted to MathML, which browsers draw natively, and the page keeps only its
inline styles. Every page starts with the same navigation bar.
"""

from __future__ import annotations

import copy
import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Sequence

# What a page extends: nbconvert's JupyterLab page without the blocks that fetch scripts.
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}<style type="text/css">{{ resources.labkit_style }}</style>{%- endblock html_head_css -%}
{%- block body_header -%}{{ super() }}{{ resources.labkit_navigation }}{%- endblock body_header -%}
"""
_TEMPLATE_NAME = "labkit_page.html.j2"
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

NAVIGATION_STYLE = """
nav.labkit { font-family: system-ui, sans-serif; display: flex; flex-wrap: wrap; gap: 0.4em 1.2em;
  padding: 0.6em 1em; margin: 0 0 1em; border-bottom: 1px solid #d0d7de; background: #f6f8fa; }
nav.labkit a { color: #0969da; text-decoration: none; }
nav.labkit a:hover { text-decoration: underline; }
nav.labkit [aria-current="page"] { font-weight: 600; color: #1f2328; }
.jp-InputArea, .jp-InputArea-editor { overflow-x: auto; }
"""

# Code first, so a dollar sign inside code or a fenced block is left alone; an escaped \$ is a
# dollar; inline maths opens on a non-space and closes on one not followed by a digit
# (pandoc's rule, so "costs $5 and $10" stays prose).
_CODE_OR_MATH = re.compile(
    r"(```.*?```|~~~.*?~~~|``[^`]+``|`[^`\n]*`|\\\$|^(?: {4}|\t)[^\n]*)"
    r"|\$\$(.+?)\$\$|\\\((.+?)\\\)|\$(?=\S)([^$\n]+?)(?<=[^\s\\])\$(?!\d)",
    re.DOTALL | re.MULTILINE,
)


def _convert(tex: str, display: str) -> str:
    from latex2mathml.converter import convert

    try:
        return convert(tex.strip(), display=display)
    except Exception:  # latex2mathml raises its own token errors: show the TeX rather than lose the page
        return f"<code>{html.escape(tex)}</code>"


def mathml(markdown: str) -> str:
    """``$...$``, ``\\(...\\)`` and ``$$...$$`` in Markdown replaced by MathML, drawn by the browser without MathJax."""

    def replace(match: re.Match) -> str:
        code, display, parenthesised, inline = match.groups()
        if code is not None:
            return code
        if display is not None:
            return _convert(display, "block")
        return _convert(parenthesised if parenthesised is not None else inline, "inline")

    return _CODE_OR_MATH.sub(replace, markdown)


def navigation_html(links: Sequence[tuple[str, str]], current: str | None = None) -> str:
    """The bar every report page starts with: ``(label, href)`` pairs, the current page marked."""
    items = []
    for label, href in links:
        if href == current:
            items.append(f'<span aria-current="page">{html.escape(label)}</span>')
        else:
            items.append(f'<a href="{html.escape(href)}">{html.escape(label)}</a>')
    return f'<nav class="labkit" aria-label="report pages">{"".join(items)}</nav>'


def render_notebook(
    notebook: Path,
    target: Path,
    title: str,
    navigation: Sequence[tuple[str, str]] = (),
    renamed: dict[str, str] | None = None,
) -> Path:
    """An executed notebook as one offline HTML page titled ``title``.

    ``renamed`` maps link targets to what the page should point at instead: the
    notebooks link each other's ``.ipynb`` files, which a browser shows as raw JSON.
    A figure cell's ``alt`` metadata becomes its images' alternative text.
    """
    import nbformat
    from bs4 import BeautifulSoup
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    node = nbformat.read(notebook, as_version=4)
    node = copy.deepcopy(node)
    node.metadata["title"] = title
    node.metadata.pop("widgets", None)
    for cell in node.cells:
        if cell.cell_type == "markdown":
            cell.source = mathml(cell.source)
        # A progress bar's widget view means nothing once the run is over (and without the
        # widget manager it would show as a stale "0%|" line).
        cell.outputs = [output for output in cell.get("outputs", ()) if _WIDGET_VIEW not in output.get("data", {})]
        for output in cell.outputs:
            if "text/markdown" in output.get("data", {}):
                output.data["text/markdown"] = mathml(output.data["text/markdown"])
    exporter = HTMLExporter(extra_loaders=[DictLoader({_TEMPLATE_NAME: _TEMPLATE})], template_file=_TEMPLATE_NAME)
    resources = {"labkit_navigation": navigation_html(navigation, target.name), "labkit_style": NAVIGATION_STYLE}
    body, _ = exporter.from_notebook_node(node, resources=resources)

    soup = BeautifulSoup(body, features="html.parser")
    for cell in node.cells:
        alt = cell.get("metadata", {}).get("alt")
        if alt and cell.get("id"):
            for image in soup.select(f'[id="cell-id={cell.id}"] img'):
                image["alt"] = alt
    for link in soup.find_all("a", href=True):
        linked, _, fragment = link["href"].partition("#")
        linked = linked.removeprefix("./")
        if linked in (renamed or {}):
            link["href"] = renamed[linked] + (f"#{fragment}" if fragment else "")
    page = str(soup)
    remote = remote_resources(page)
    if remote:
        raise RuntimeError(f"{target.name} would load {', '.join(remote)} from the network; the report must work offline")
    target.write_text(page, encoding="utf-8")
    return target


class _RemoteFinder(HTMLParser):
    """Collects what a page would fetch from a network to run, style or show itself (links are not fetches)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in = None

    def handle_starttag(self, tag, attrs):
        values = {name: value or "" for name, value in attrs}
        for name in ("src", "data", "poster") + (("href",) if tag == "link" else ()):
            if _remote(values.get(name)):
                self.found.append(values[name])
        for candidate in values.get("srcset", "").split(","):
            if _remote(candidate.strip().split(" ")[0]):
                self.found.append(candidate.strip())
        self.found += _URLS_IN_CSS.findall(values.get("style", ""))
        if tag == "style" or (tag == "script" and values.get("type", "").lower() in _EXECUTABLE):
            self._in = tag

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "script":  # any URL in code it runs: an import, a src, a URL built from parts
            self.found += [url for url in _URLS.findall(data) if not url.lower().startswith(_NAMESPACES)]
        elif self._in == "style":
            self.found += _URLS_IN_CSS.findall(data)


_URLS = re.compile(r"""https?://[^\s'"`]+""", re.IGNORECASE)
_URLS_IN_CSS = re.compile(r"""(?:@import\s+|url\(\s*)['"]?((?:https?:)?//[^'")\s]+)""", re.IGNORECASE)
_NAMESPACES = ("http://www.w3.org/",)  # XML namespace names: identifiers, never fetched
_EXECUTABLE = ("", "text/javascript", "application/javascript", "module", "text/ecmascript", "application/ecmascript")


def _remote(url: str | None) -> bool:
    return bool(url) and url.strip().lower().startswith(("http://", "https://", "//"))


def remote_resources(page: str) -> list[str]:
    """Every script, stylesheet, font or module a page would load from a network: empty for an offline page."""
    finder = _RemoteFinder()
    finder.feed(page)
    return finder.found


PAGE_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 0 auto 2em; padding: 0 1em; color: #1f2328;
  line-height: 1.45; }
table { border-collapse: collapse; margin: 1em 0; display: block; overflow-x: auto; }
th, td { border: 1px solid #d0d7de; padding: 0.35em 0.7em; text-align: left; }
th { background: #f6f8fa; }
code { background: #f6f8fa; padding: 0 0.2em; }
pre { background: #f6f8fa; padding: 0.6em; overflow-x: auto; }
.note { color: #59636e; }
a.anchor-link { display: none; }
"""


def page(title: str, body: str, navigation: Sequence[tuple[str, str]], current: str, style: str = "") -> str:
    """A whole report page around ``body`` (HTML): its title, styles and the navigation bar."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{NAVIGATION_STYLE}{PAGE_STYLE}{style}</style></head><body>
{navigation_html(navigation, current)}
{body}
</body></html>
"""


def markdown_page(source: Path, target: Path, title: str, navigation: Sequence[tuple[str, str]] = ()) -> Path:
    """A Markdown file (such as benchmarks.md) as a report page, so a browser shows it rendered."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    body = markdown2html_mistune(mathml(source.read_text(encoding="utf-8")))
    text = page(title, body, navigation, target.name)
    target.write_text(text, encoding="utf-8")
    return target
