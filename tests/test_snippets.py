"""The shipped snippets (Hugo partial, Eleventy shortcode, Jekyll include) emit the same <picture>.

The Hugo partial runs in real hugo (and in Chromium: test_hugo_site.py); the Eleventy shortcode
runs in node and the Jekyll include in python-liquid, on the same data file, and each page's
<picture> must parse to the same elements and attributes as Hugo's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from conftest import REPO
from test_hugo_site import hugo, make_site


class Elements(HTMLParser):
    """picture/source/img elements in order, each with its attributes (entities decoded)."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("picture", "source", "img"):
            self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    p = Elements()
    p.feed(html)
    return p.found


def eleventy(data_file, src, mobile, alt) -> str:
    if not shutil.which("node"):
        pytest.skip("node is not installed: the Eleventy shortcode is JavaScript")
    script = (
        f"const p = require({json.dumps(str(REPO / 'examples' / 'eleventy' / 'picture.js'))});"
        f"process.stdout.write(p.shortcode({json.dumps(str(data_file))})({json.dumps(src)}, {json.dumps(mobile)}, {json.dumps(alt)}, '100vw'));"
    )
    return subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout


def jekyll(data, src, mobile, alt) -> str:
    liquid = pytest.importorskip("liquid", reason="python-liquid is not installed: pip install -e '.[test]'")
    text = (REPO / "examples" / "jekyll" / "_includes" / "picture.html").read_text()
    include = {"src": src, "mobile": mobile, "alt": alt, "sizes": "100vw"}
    return liquid.Environment().from_string(text).render(site={"data": {"renditions": data}}, include=include)


@pytest.mark.slow
def test_hugo_eleventy_and_jekyll_snippets_agree(tmp_path):
    exe = hugo()
    root = tmp_path / "site"
    root.mkdir()
    make_site(root)
    subprocess.run([sys.executable, "-m", "renditions", "build", "--root", str(root)], check=True, capture_output=True)
    subprocess.run([exe, "--source", str(root), "--destination", str(root / "public")], check=True, capture_output=True)
    data_file = root / "data" / "renditions.json"
    data = json.loads(data_file.read_text())
    for slug, query in (("alpha", "?v=2"), ("beta", "")):
        src, mobile = f"/img/single/{slug}.png{query}", f"/img/mobile/{slug}.png"
        from_hugo = elements((root / "public" / "posts" / slug / "index.html").read_text())
        assert [t for t, _ in from_hugo] == ["picture", "source", "source", "img"]  # mobile PNG, desktop WebP, img
        img = from_hugo[-1][1]
        assert (img["loading"], img["decoding"], img["width"], img["height"]) == ("lazy", "async", "1280", "720")
        assert from_hugo[1][1]["media"] == "(max-width: 640px)" and from_hugo[2][1]["type"] == "image/webp"
        assert f"background-image:url({data[src]['placeholder']})" in img["style"]
        assert elements(eleventy(data_file, src, mobile, slug)) == from_hugo
        assert elements(jekyll(data, src, mobile, slug)) == from_hugo
    # a reference not in the data file (not built yet) is a plain <img>, in both
    plain = [("img", {"src": "/img/new.png", "alt": "n", "loading": "lazy", "decoding": "async"})]
    assert elements(eleventy(data_file, "/img/new.png", None, "n")) == plain
    assert elements(jekyll(data, "/img/new.png", None, "n")) == plain
