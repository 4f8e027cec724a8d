"""The committed report opened as a reader opens it: headless Chromium, offline, at 1280 and 768 px.

Needs Debian's chromium (``apt-get install chromium``; .ci/run installs it); skipped without it.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPORT = Path(__file__).parents[1] / "report"
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
# No network: the flags keep Chromium from trying to reach its own services at start.
# Every host name fails to resolve, so a page that needed a network would show it.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND"]  # fmt: skip
# Appended to a copy of the page: once everything has loaded, the title says what a reader would see.
PROBE = r"""<script>window.addEventListener("load", () => {
  const broken = [...document.images].filter((image) => !(image.complete && image.naturalWidth > 0));
  const text = document.body.innerText;
  document.title = "probe " + JSON.stringify({images: document.images.length, text: text.length,
                                            tex: (text.match(/\$\$|\$\\|\\mathcal/g) || []).length,
                                            broken: broken.map((image) => image.getAttribute("src").slice(0, 60))});
});</script>"""
PAGES = ["index.html", "vgg16_lab.html", "resnet50_lab.html"]


def chromium(tmp_path, *arguments):
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *arguments], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    return done.stdout


@pytest.fixture(scope="module")
def report_copy(tmp_path_factory):
    if not (REPORT / "index.html").is_file():
        pytest.skip("no committed report to open")
    copy = tmp_path_factory.mktemp("report") / "report"
    shutil.copytree(REPORT, copy)
    return copy


@pytest.mark.parametrize("name", PAGES)
def test_every_image_of_the_page_loads_offline_and_the_page_has_text(report_copy, tmp_path, name):
    probed = report_copy / f"probe-{name}"
    probed.write_text((report_copy / name).read_text().replace("</body>", PROBE + "</body>"))
    dom = chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", probed.as_uri())
    seen = json.loads(re.search(r"<title>probe (.*?)</title>", dom).group(1).replace("&quot;", '"'))
    assert seen["broken"] == [] and seen["images"] >= (6 if name == "index.html" else 3), seen
    assert seen["text"] > 2000 and seen["tex"] == 0, seen  # maths drawn, not shown as TeX


@pytest.mark.parametrize("width", [1280, 768])
@pytest.mark.parametrize("name", PAGES)
def test_the_page_is_not_blank_at_either_width(report_copy, tmp_path, name, width):
    from PIL import Image

    shot = tmp_path / "shot.png"
    chromium(tmp_path, f"--window-size={width},1600", f"--screenshot={shot}", (report_copy / name).as_uri())
    with Image.open(shot) as image:
        assert image.width == width
        grey = image.convert("L")
        low, high = grey.getextrema()
        assert high - low > 100 and len(grey.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 20
