"""Offline report pages: maths as MathML, nothing fetched from a network, a way around."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from labkit import pages

FIGURE_PNG = (  # a 1x1 PNG, as a figure cell's output
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def test_maths_becomes_mathml_and_code_keeps_its_dollars():
    text = pages.mathml("Depth $n$ gives $$r_n = 2n + 1 .$$ Run `echo $HOME` and\n```\nA=$B$\n```")
    assert text.count("<math") == 2 and 'display="block"' in text and 'display="inline"' in text
    assert "`echo $HOME`" in text and "A=$B$" in text and "r_n" not in text


@pytest.mark.parametrize("prose", ["it costs $5 and $10 a month", "an escaped \\$x\\$ dollar", "``a $x$ b`` in code",
                                   "~~~\n$x$\n~~~", "    indented $x$ code"])  # fmt: skip
def test_dollars_that_are_not_maths_stay_as_they_are(prose):
    assert pages.mathml(prose) == prose


def test_parenthesised_maths_is_drawn_and_broken_tex_is_shown_not_fatal():
    assert "<math" in pages.mathml("a \\(x + y\\) b")
    assert pages.mathml("broken $\\frac{a}{$ here") == "broken <code>\\frac{a}{</code> here"


@pytest.mark.parametrize("tag", [
    '<script src="https://cdn.example/mathjax.js"></script>',
    '<link rel="stylesheet" href="//cdn.example/a.css">',
    '<script type="module">import("https://cdn.example/mermaid.mjs")</script>',
    '<script>var base = "https://unpkg.example/" + "embed.js";</script>',
    '<style>@import url("https://fonts.example/font.css");</style>',
    '<img src="HTTPS://images.example/a.png" alt="a">',
    '<img src="a.png" srcset="https://images.example/a@2x.png 2x" alt="a">',
    '<div style="background: url(https://images.example/b.png)"></div>',
    '<script type="text/ecmascript">load("https://cdn.example/x.js")</script>',
])  # fmt: skip
def test_anything_a_page_would_fetch_is_found(tag):
    assert pages.remote_resources(f"<html><head>{tag}</head><body></body></html>")


def test_links_and_data_are_not_fetches():
    page = ('<a href="https://arxiv.org/abs/1409.1556">paper</a><math xmlns="http://www.w3.org/1998/Math/MathML">'
            '</math><script type="application/json">{"url": "https://example.org"}</script>'
            '<script>document.createElementNS("http://www.w3.org/2000/svg", "svg")</script>')  # fmt: skip
    assert pages.remote_resources(page) == []


def executed_notebook(path):
    notebook = new_notebook(cells=[
        new_markdown_cell("# A lab\n\nThe residual $\\mathcal{F}(x) = \\mathcal{H}(x) - x$; see [the other lab](other_lab.ipynb)"
                          " and [its curves](./other_lab.ipynb#Training-curves)."),
        new_code_cell("train()", outputs=[
            new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "x"},
                                             "text/plain": "epoch 1 train:   0%|          | 0/24"}),
            new_output("stream", name="stdout", text="epoch 1/1  test acc 50.00%\n"),
        ]),
        new_code_cell("figures['curves']", metadata={"alt": "Training curves of this run"},
                      outputs=[new_output("execute_result", data={"image/png": FIGURE_PNG, "text/plain": "<Figure>"},
                                          execution_count=1)]),
        new_code_cell("display(Markdown(text))", outputs=[
            new_output("display_data", data={"text/markdown": "Reached $93\\%$.", "text/plain": "<Markdown>"})]),
    ])  # fmt: skip
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nbformat.write(notebook, path)
    return path


def test_a_notebook_page_is_offline_titled_navigable_and_described(tmp_path):
    target = tmp_path / "a_lab.html"
    nav = [("Report", "index.html"), ("A lab", "a_lab.html"), ("Other lab", "other_lab.html")]
    pages.render_notebook(executed_notebook(tmp_path / "a_lab.ipynb"), target, "A lab: labkit report", nav,
                          {"other_lab.ipynb": "other_lab.html"})  # fmt: skip
    page = target.read_text()
    assert pages.remote_resources(page) == [] and "<script" not in page
    assert "<title>A lab: labkit report</title>" in page
    assert '<a href="index.html">Report</a>' in page and '<span aria-current="page">A lab</span>' in page
    assert 'href="other_lab.html"' in page and 'href="other_lab.html#Training-curves"' in page
    assert "other_lab.ipynb" not in page
    assert page.count("<math") == 2 and "$" not in page.split("<body")[1]  # the Markdown output's maths too
    assert "0%|" not in page and "epoch 1/1  test acc 50.00%" in page  # the bar dropped, the epoch line kept
    assert 'alt="Training curves of this run"' in page and "No description" not in page


def test_a_markdown_file_becomes_a_page_with_the_same_navigation(tmp_path):
    source = tmp_path / "benchmarks.md"
    source.write_text("# Benchmarks\n\n| model | images/s |\n|---|---|\n| vgg16 | 150.8 |\n")
    page = pages.markdown_page(source, tmp_path / "benchmarks.html", "Benchmarks", [("Report", "index.html")]).read_text()
    assert "<table>" in page and "<td>150.8</td>" in page and '<a href="index.html">Report</a>' in page
    assert pages.remote_resources(page) == []
