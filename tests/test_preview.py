"""`renditions preview`: a static page, opened in headless Chromium, shows every image and problem."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

SCREENSHOT = os.environ.get("RENDITIONS_PREVIEW_SCREENSHOT")  # set to keep a screenshot to look at


def make_site(site):
    """Four articles: a TIFF master (a browser can't show TIFF), a missing master with a
    near-miss file name, a master too small for every variant, and an article missing a key."""
    site.article("good")
    site.master("good", size=(1920, 1080), ext="tif")
    site.article("lost")
    site.master("Lost ", size=(1200, 800))  # trailing space and wrong case
    site.article("tiny")
    site.master("tiny", size=(600, 300))
    keys = {k: v for k, v in __import__("conftest").VARIANT_KEYS.items() if k != "mobile"}
    site.article("nokey", keys=keys, extra="focus: [0.1, 0.5]")
    site.master("nokey", size=(1600, 1200))
    cli("build", "--root", str(site.root), "-j", "2")


def cli(*args: str) -> subprocess.CompletedProcess:
    """The CLI in a child process: libvips threads started in the test process (by a preview's
    thumbnails) could deadlock a later build's forked workers, here or in another test file."""
    return subprocess.run([sys.executable, "-m", "renditions", *args], capture_output=True, text=True)


@pytest.fixture
def page(site):
    make_site(site)
    result = cli("preview", "--root", str(site.root))
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("4 articles, 6 problems shown\n")
    path = site.root / ".renditions" / "preview" / "index.html"  # outside the web root (issue 13)
    assert path.is_file()
    return path


def test_page_is_static_html_with_relative_links(page, site):
    text = page.read_text()
    assert "<script" not in text.lower()
    srcs = re.findall(r'src="([^"]+)"', text)
    assert srcs and not any(s.startswith(("/", "http:", "https:", "file:")) for s in srcs)
    # every image the page references exists; the TIFF master is shown as a JPEG thumbnail
    for s in srcs:
        assert (page.parent / s).is_file(), s
    thumbs = list((page.parent / "masters").iterdir())
    assert len(thumbs) == 3  # good, tiny, nokey (lost has no master)
    with Image.open(thumbs[0]) as im:
        assert im.format == "JPEG" and max(im.size) <= 720
    assert "../../public/img/artical/articles/good.png" in srcs
    assert not (site.public / "_renditions").exists()


def test_out_option_and_rerun_reuses_thumbnails(page, site, tmp_path):
    out = tmp_path / "elsewhere" / "p.html"
    result = cli("preview", "--root", str(site.root), "--out", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert len(list((out.parent / "p-preview" / "masters").iterdir())) == 3  # its own folder, beside the page
    rel = os.path.relpath(site.out("image", "good"), out.parent).replace(os.sep, "/")
    assert f'src="{rel}"' in text
    before = {p.name: p.stat().st_ino for p in (page.parent / "masters").iterdir()}
    cli("preview", "--root", str(site.root))
    after = {p.name: p.stat().st_ino for p in (page.parent / "masters").iterdir()}
    assert before == after  # named by the master's hash: not re-rendered


def _chrome(tmp_path):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed: pip install -e '.[test]'")
    binary = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        pytest.skip("no headless browser here: install chromium and chromium-driver (`make test` does, as root)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1800",
        f"--user-data-dir={tmp_path / 'chrome-profile'}",
    ):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=opts)


@pytest.mark.slow
def test_renders_in_headless_chromium(page, site, tmp_path):
    from selenium.webdriver.common.by import By

    browser = _chrome(tmp_path)
    try:
        browser.get(page.resolve().as_uri())
        browser.execute_script("return document.readyState")
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth, i.naturalHeight])"
        )
        # good: master + 4 variants; nokey: master + 4 (its `mobile` output comes from the template);
        # tiny: master only (nothing could be built); lost: nothing
        assert len(images) == 11, images
        broken = [i for i in images if not i[1] or i[2] == 0]
        assert not broken, f"broken images: {broken}"
        sizes = {src.rsplit("/", 2)[-2]: (w, h) for src, _, w, h in images if "good.png" in src}
        assert sizes == {
            "articles": (800, 450),
            "mobile-articles": (640, 360),
            "single-articles": (1600, 900),
            "mobile-single-articles": (800, 600),
        }

        text = browser.find_element(By.TAG_NAME, "body").text  # visible text only
        assert "no master: add source_images/lost.png" in text
        assert 'did you mean "source_images/Lost .png"?' in text
        assert "master 600×300 is smaller than article (800×450)" in text
        assert "no `mobile` key: using /img/artical/mobile-articles/nokey.png" in text
        # tiny's cards send the reader to its problem: a build would fail it again
        assert "not built: see the problem above" in text and "run renditions build" not in text

        # crop boxes: the 4:3 mobile-single crop of a 16:9 master is 75 % of its width, centred
        frame = browser.find_element(By.CSS_SELECTOR, "#good .frame img").rect
        box = browser.find_element(By.CSS_SELECTOR, '#good .box[title="mobile-single"]').rect
        assert box["width"] / frame["width"] == pytest.approx(0.75, abs=0.01)
        assert (box["x"] - frame["x"]) / frame["width"] == pytest.approx(0.125, abs=0.01)
        # nokey's focus [0.1, 0.5] pushes every cover crop to the master's left edge
        frame = browser.find_element(By.CSS_SELECTOR, "#nokey .frame img").rect
        box = browser.find_element(By.CSS_SELECTOR, '#nokey .box[title="article"]').rect
        assert box["x"] == pytest.approx(frame["x"], abs=1.5)
        assert box["width"] == pytest.approx(frame["width"], abs=1.5)  # 16:9 of 4:3 is full width...
        assert box["height"] / frame["height"] == pytest.approx(0.75, abs=0.01)  # ...and 3/4 of the height
        shot = Path(SCREENSHOT) if SCREENSHOT else tmp_path / "preview.png"
        browser.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
    finally:
        browser.quit()


def test_preview_writes_only_its_own_files(site, tmp_path):
    """--out beside other files (here: a site whose masters live in masters/ next to the page)
    touches none of them; a second preview deletes only thumbnails it wrote itself."""
    text = (site.root / "config" / "renditions.yaml").read_text().replace("sources: source_images", "sources: masters")
    site.config(text)
    (site.root / "masters").mkdir()
    for slug, angle in (("a", 0), ("b", 180)):
        site.article(slug)
        gradient = Image.linear_gradient("L").rotate(angle).resize((1800, 1000)).convert("RGB")
        gradient.save(site.root / "masters" / f"{slug}.jpg", quality=90)
    (site.root / "notes.jpg").write_bytes(b"a designer's own file")
    before = {p: p.read_bytes() for p in site.root.rglob("*") if p.is_file()}
    out = site.root / "index.html"
    r = cli("preview", "--root", str(site.root), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert all(p.read_bytes() == data for p, data in before.items())  # the masters and notes.jpg are untouched
    own = site.root / "index-preview"
    thumbs = sorted(p.name for p in (own / "masters").iterdir())
    assert len(thumbs) == 2 and (own / ".renditions-preview").is_file()
    b_thumb = hashlib.sha256((site.root / "masters" / "b.jpg").read_bytes()).hexdigest()[:16] + ".jpg"
    assert b_thumb in thumbs
    (site.root / "masters" / "b.jpg").unlink()  # b's thumbnail is no longer shown
    (own / "masters" / "mine.jpg").write_bytes(b"put here by hand")
    r = cli("preview", "--root", str(site.root), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (own / "masters").iterdir()) == sorted({*thumbs, "mine.jpg"} - {b_thumb})
    assert (own / "masters" / "mine.jpg").read_bytes() == b"put here by hand"
    assert (site.root / "notes.jpg").read_bytes() == b"a designer's own file"


def test_preview_never_replaces_a_page_it_did_not_write(site):
    site.article("a")
    site.master("a", size=(1800, 1000))
    out = site.root / "page.html"
    out.write_text("my page")
    r = cli("preview", "--root", str(site.root), "--out", str(out))
    assert r.returncode == 2 and out.read_text() == "my page"
    assert f"error: {out}: exists and renditions preview did not write it: choose another --out (or move it away)" in r.stderr


def test_cards_say_why_nothing_was_built(site):
    """A missing output's card says what would build it: a draft is built with --drafts, an
    article whose master can't be decoded is not built by any build (its problem says why), and
    only an ordinary unbuilt article is told to run a build. Drafts are marked as status marks
    them, and the masters no article uses are listed, as status lists them (a Finder copy)."""
    site.article("ready")
    site.master("ready", size=(1920, 1080))
    site.article("later", extra="draft: true")
    site.master("later", size=(1920, 1080))
    site.article("cut")
    whole = site.master("cut", size=(1920, 1080), ext="jpg").read_bytes()
    (site.sources / "cut.jpg").write_bytes(whole[: len(whole) // 3])  # a save cut short
    shutil.copy(site.sources / "ready.png", site.sources / "ready copy.png")
    result = cli("preview", "--root", str(site.root))
    assert result.returncode == 0, result.stderr
    text = (site.root / ".renditions" / "preview" / "index.html").read_text()
    sections = dict(re.findall(r'<section id="([^"]+)">(.*?)</section>', text))
    cards = {slug: re.findall(r'<div class="none"[^>]*>([^<]*)</div>', body) for slug, body in sections.items()}
    assert cards == {
        "cut": ["not built: see the problem above"] * 4,
        "later": ["not built yet: a draft (renditions build --drafts builds it)"] * 4,
        "ready": ["not built yet: run renditions build"] * 4,
    }
    assert "cannot decode" in sections["cut"]
    assert re.search(r"<h2>later \(draft\) <small>", text) and re.search(r"<h2>ready <small>", text)
    assert "unused master: source_images/ready copy.png (no article has its name as slug)" in text
    assert "rebuilt by <code>renditions preview</code>" in text


def test_translations_get_sections_of_their_own(site):
    """A page and its translation share a slug: their sections had one id, so a link to the
    second (and a test's selector) found the first."""
    cfg = site.root / "config" / "renditions.yaml"
    cfg.write_text(cfg.read_text().replace("content:", "languages: [fr]\ncontent:", 1))
    site.article("bonjour")
    site.master("bonjour", size=(1920, 1080))
    (site.root / "content" / "bonjour.fr.md").write_text((site.root / "content" / "bonjour.md").read_text())
    result = cli("preview", "--root", str(site.root))
    assert result.returncode == 0, result.stderr
    text = (site.root / ".renditions" / "preview" / "index.html").read_text()
    assert re.findall(r'<section id="([^"]+)"><h2>[^<]*<small>([^<]+)</small>', text) == [
        ("bonjour", "content/bonjour.fr.md"),
        ("bonjour-2", "content/bonjour.md"),
    ]
