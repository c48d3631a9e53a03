"""`renditions status` and the did-you-mean hints a designer can act on."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import json_report

from renditions.cli import main
from renditions.hints import master_hint, near_masters


def cli(*args: str) -> subprocess.CompletedProcess:
    """The CLI in a child process: libvips threads started in the test process (status reads
    masters' headers) could deadlock a later build's forked workers, here or in another file."""
    return subprocess.run([sys.executable, "-m", "renditions", *args], capture_output=True, text=True)


def build(site):
    cli("build", "--root", str(site.root), "-j", "2")


@pytest.fixture
def states(site):
    """fresh: built; stale: master changed after the build; missing: one output deleted;
    lost: no master but a near miss; tiny: master too small; plus one master nobody uses."""
    for slug in ("fresh", "stale", "missing", "lost", "tiny"):
        site.article(slug)
    site.master("fresh")
    site.master("stale")
    site.master("missing")
    site.master("tiny", size=(700, 500))
    build(site)
    site.master("stale", colour=(1, 2, 3))
    site.out("mobile", "missing").unlink()
    site.master("LOST", size=(1920, 1080))
    site.master("orphan-master", size=(64, 64), ext="jpg")
    return site


def test_status_json(states):
    result = cli("status", "--root", str(states.root), "--json")
    assert result.returncode == 0, result.stderr
    doc = json_report(result.stdout)
    rows = {a["slug"]: a for a in doc["articles"]}

    def every(word):
        return {"article": word, "mobile-article": word, "single": word, "mobile-single": word}

    assert rows["fresh"]["variants"] == every("up_to_date")
    assert rows["fresh"]["master"] == {"path": "source_images/fresh.png", "width": 1920, "height": 1080}
    assert rows["stale"]["variants"] == every("stale")
    assert rows["missing"]["variants"] == dict(every("up_to_date"), **{"mobile-article": "missing"})
    assert rows["lost"]["master"] is None and rows["lost"]["variants"] == every("failed")
    assert any('did you mean "source_images/LOST.png"' in p and "upper/lower case" in p for p in rows["lost"]["problems"])
    # 700×500 is big enough for mobile-article (640×360) only; the article fails as a whole
    assert rows["tiny"]["variants"] == {
        "article": "failed",
        "mobile-article": "missing",
        "single": "failed",
        "mobile-single": "failed",
    }
    assert "master 700×500 is smaller than single (1600×900)" in rows["tiny"]["problems"]
    assert doc["unused_masters"] == ["source_images/LOST.png", "source_images/orphan-master.jpg"]


def test_status_table(states):
    result = cli("status", "--root", str(states.root))
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["slug", "master", "article", "mobile-article", "single", "mobile-single"]
    fresh = next(line for line in lines if line.startswith("fresh "))
    assert "fresh.png 1920×1080" in fresh and fresh.count("up to date") == 4
    lost = next(line for line in lines if line.startswith("lost "))
    assert lost.split()[1] == "missing" and lost.count("failed") == 4
    assert "unused master: source_images/orphan-master.jpg (no article has its name as slug)" in lines


def test_a_drafts_master_is_not_unused_and_its_row_is_marked(site):
    site.article("live")
    site.master("live")
    site.article("wip", extra="draft: true", keys={"image": "/img/artical/articles/{slug}.png"})
    site.master("wip")
    build(site)  # builds live only
    result = cli("status", "--root", str(site.root))
    assert result.returncode == 0, result.stderr
    assert "unused master" not in result.stdout, result.stdout
    lines = result.stdout.splitlines()
    live = next(line for line in lines if line.startswith("live "))
    wip = next(line for line in lines if line.startswith("wip "))
    assert live.count("up to date") == 4
    assert wip.startswith("wip (draft) ") and "wip.png 1920×1080" in wip and wip.count("missing") == 4
    doc = json_report(cli("status", "--root", str(site.root), "--json").stdout)
    assert doc["unused_masters"] == []
    rows = {a["slug"]: a for a in doc["articles"]}
    assert (rows["live"]["draft"], rows["wip"]["draft"]) == (False, True)
    assert rows["wip"]["master"] == {"path": "source_images/wip.png", "width": 1920, "height": 1080}
    # the totals stay what `build` would do: the draft's missing outputs wait for --drafts
    assert doc["totals"] == {"up_to_date": 4, "stale": 0, "missing": 0, "failed": 0}


def test_a_draft_wanting_a_published_article_s_path_fails_only_itself(site):
    """A draft rewrite of a post (same image path, its own master): build without --drafts writes
    the post's output, so status must not call the post failed (drafts joined its claims)."""
    site.article("a", keys={"image": "/img/artical/articles/a.png"})
    site.article("a-v2", extra="draft: true", keys={"image": "/img/artical/articles/a.png"})
    site.master("a")
    site.master("a-v2", colour=(200, 0, 0))
    for word in ("missing", "up_to_date"):  # before the first build (no recorded owner), and after
        doc = json_report(cli("status", "--root", str(site.root), "--json").stdout)
        rows = {a["slug"]: a for a in doc["articles"]}
        assert rows["a"]["variants"]["article"] == word, rows["a"]
        assert rows["a-v2"]["variants"]["article"] == "failed"  # what build --drafts would say of it
        assert doc["totals"]["failed"] == 0
        build(site)


def test_hint_shown_by_build_and_check(states):
    for cmd in ("build", "check"):
        result = CliRunner().invoke(
            main, [cmd, "--root", str(states.root), "--dry-run"] if cmd == "build" else [cmd, "--root", str(states.root)]
        )
        assert "content/lost.md: no master: add source_images/lost.png" in result.output
        assert 'did you mean "source_images/LOST.png"?' in result.output


@pytest.mark.parametrize(
    "slug, names, expect, why",
    [
        ("5-breakthroughs-2025", ["5-breakthroughs-2025 .png"], "5-breakthroughs-2025 .png", "a leading or trailing space"),
        ("evening-walks", ["Evening-Walks.JPG"], "Evening-Walks.JPG", "different upper/lower case"),
        ("evening-walks", ["evening_walks.jpeg"], "evening_walks.jpeg", "different spaces, underscores or hyphens"),
        (
            "staying-active-in-the-mountains",
            ["staying-active-in-the-mountain.jpeg", "unrelated.png"],
            "staying-active-in-the-mountain.jpeg",
            "a different spelling",
        ),
        ("alpha", ["beta.png", "alphabet-soup.png"], None, None),
        ("alpha", ["alpha.png", "Alpha.png"], None, None),  # an exact master exists: no hint
    ],
)
def test_near_misses(tmp_path, slug, names, expect, why):
    for n in names:
        (tmp_path / n).write_bytes(b"x")
    hint = master_hint(slug, tmp_path, tmp_path.parent)
    if expect is None:
        assert hint == "" and near_masters(slug, names) == []
    else:
        assert f'did you mean "{tmp_path.name}/{expect}"?' in hint and why in hint


def test_hint_never_offers_a_master_another_article_uses(site):
    """art-001.png and art-002.png are one letter off art-000, but renaming either breaks its own
    article (a draft's too): only a master no article uses is offered."""
    for n in range(4):
        site.article(f"art-00{n}", extra="draft: true" if n == 3 else "")
        if n:
            site.master(f"art-00{n}")
    result = cli("check", "--root", str(site.root))
    assert result.returncode == 1
    assert "content/art-000.md: no master: add source_images/art-000.png (or .jpg" in result.stdout
    assert "did you mean" not in result.stdout
    site.master("art_000")  # nobody's: offered
    result = cli("check", "--root", str(site.root))
    assert 'did you mean "source_images/art_000.png"? (its name has different spaces' in result.stdout


def test_a_master_only_a_decode_finds_broken_shows_failed_until_it_is_replaced(site):
    """A master cut short by a copy keeps a sound header, so status (headers only) showed it
    `missing` like any new master, and a designer saw nothing wrong. The build's reason is
    noted beside the master's hash: status shows `failed` and why, for exactly those bytes."""
    import json

    for slug in ("good", "cut"):
        site.article(slug)
        site.master(slug)
    cut = site.sources / "cut.png"
    whole = cut.read_bytes()
    cut.write_bytes(whole[: len(whole) // 3])
    built = cli("build", "--root", str(site.root), "--json")
    assert built.returncode == 1 and "content/cut.md" in built.stderr
    shown = cli("status", "--root", str(site.root))
    row = next(line for line in shown.stdout.splitlines() if line.startswith("cut "))
    assert "cut.png 1920×1080" in row and row.split()[-4:] == ["failed"] * 4
    assert "content/cut.md: the last build failed: source_images/cut.png: cannot decode" in shown.stdout
    data = json.loads(cli("status", "--root", str(site.root), "--json").stdout)
    by_slug = {a["slug"]: a for a in data["articles"]}
    assert set(by_slug["cut"]["variants"].values()) == {"failed"}
    assert any("the last build failed" in p for p in by_slug["cut"]["problems"])
    assert set(by_slug["good"]["variants"].values()) == {"up_to_date"} and not by_slug["good"]["problems"]
    checked = cli("check", "--root", str(site.root))  # one line, the build's reason, no line per output
    assert checked.returncode == 1
    assert (
        "content/cut.md: source_images/cut.png: cannot decode the image: vipspng: libpng read error "
        "(the last build's word on these bytes)" in checked.stdout.splitlines()
    )
    assert "cut.png: missing" not in checked.stdout
    dry = cli("build", "--root", str(site.root), "--dry-run")  # it predicts what the build does, as status shows
    assert dry.returncode == 1 and "1 failed" in dry.stdout + dry.stderr
    assert "content/cut.md: source_images/cut.png: cannot decode" in dry.stderr
    cut.write_bytes(whole)  # replaced: the note is for other bytes, so it no longer holds
    dry = cli("build", "--root", str(site.root), "--dry-run")
    assert dry.returncode == 0 and "4 to render, 4 up to date, 0 failed" in dry.stdout
    replaced = json.loads(cli("status", "--root", str(site.root), "--json").stdout)
    assert set(next(a for a in replaced["articles"] if a["slug"] == "cut")["variants"].values()) == {"missing"}
    assert cli("build", "--root", str(site.root)).returncode == 0
    cut.write_bytes(whole[: len(whole) // 3])  # cut again after a good build: stale, no old note revived
    again = json.loads(cli("status", "--root", str(site.root), "--json").stdout)
    cut_row = next(a for a in again["articles"] if a["slug"] == "cut")
    assert set(cut_row["variants"].values()) == {"stale"} and not cut_row["problems"]


def test_an_article_whose_front_matter_fails_to_parse_still_uses_its_master(site):
    """A user's trial: with a YAML error in its front matter, an article's row showed its master
    `missing` and the master was listed unused ("no article has its name as slug"), inviting
    the designer to delete a master in use. The row names it; it is not unused."""
    import json

    site.article("good")
    site.master("good")
    bad = site.root / "content" / "broken.md"
    bad.write_text('---\ntitle: "Unclosed: quote\nimage: "/img/artical/articles/broken.png"\n---\n')
    site.master("broken")
    shown = cli("status", "--root", str(site.root))
    row = next(line for line in shown.stdout.splitlines() if line.startswith("broken "))
    assert "broken.png 1920×1080" in row and row.split()[-4:] == ["failed"] * 4
    assert "unused" not in shown.stdout and "content/broken.md: front matter is not valid YAML" in shown.stdout
    doc = json.loads(cli("status", "--root", str(site.root), "--json").stdout)
    assert doc["unused_masters"] == []
    assert next(a for a in doc["articles"] if a["slug"] == "broken")["master"]["path"] == "source_images/broken.png"
    built = cli("build", "--root", str(site.root))
    assert built.returncode == 1 and "content/broken.md:3: front matter is not valid YAML" in built.stderr
    assert (site.sources / "broken.png").exists() and not site.out("image", "broken").exists()


def test_check_names_a_master_that_is_no_image_as_build_does(site):
    """check decodes nothing, but a master with no image's signature at all (a text file named
    .png) or of 0 bytes is refused by build whatever its pixels: check says so in build's words
    (a user's trial saw only `missing` lines)."""
    for slug in ("text", "empty", "good"):
        site.article(slug)
    (site.sources / "text.png").write_text("not an image, a note saved with the wrong name\n")
    (site.sources / "empty.png").write_bytes(b"")
    site.master("good")
    checked = cli("check", "--root", str(site.root))
    built = cli("build", "--root", str(site.root))
    assert checked.returncode == built.returncode == 1
    for line in (
        "content/text.md: source_images/text.png: not a supported image (expected PNG, JPEG, WebP, AVIF, TIFF, GIF or HEIC content)",
        "content/empty.md: source_images/empty.png: the master is an empty file (0 bytes)",
    ):
        assert line in checked.stdout.splitlines()
        assert "error: " + line in built.stderr.splitlines()
    again = cli("check", "--root", str(site.root))  # the good article built: only the two lines are left
    assert "good" not in again.stdout and "missing" in again.stdout


def test_a_master_saved_with_another_extension_is_named(site):
    """A user's trial: `source_images/typo.jgp` (a JPEG, its extension mistyped) got only
    "no master: add source_images/typo.png ...". Now the file is named with the fix: the rename
    when its content is an image renditions reads, else that it must be exported (a `.psd`).
    A FIFO of that name is passed over, never opened (its open would wait for a writer)."""
    import os

    from PIL import Image

    for slug in ("typo", "layered", "pipe"):
        site.article(slug)
    Image.new("RGB", (1920, 1080), (9, 99, 200)).save(site.sources / "typo.jgp", "JPEG")
    (site.sources / "layered.psd").write_bytes(b"8BPS\x00\x01" + bytes(64))
    os.mkfifo(site.sources / "pipe.raw")
    checked = subprocess.run(
        [sys.executable, "-m", "renditions", "check", "--root", str(site.root)], capture_output=True, text=True, timeout=60
    )
    lines = checked.stdout.splitlines()
    choices = "(or .jpg, .webp, .avif, .tif, .gif, .heic)"
    assert (
        f'content/typo.md: no master: add source_images/typo.png {choices}; "source_images/typo.jgp" is a JPEG image: rename it to "typo.jpg"'
        in lines
    )
    assert (
        f'content/layered.md: no master: add source_images/layered.png {choices}; "source_images/layered.psd" is there, '
        "but .psd is no image format renditions reads: export it as one that is"
    ) in lines
    assert f"content/pipe.md: no master: add source_images/pipe.png {choices}" in lines
    (site.sources / "typo.jgp").rename(site.sources / "typo.jpg")  # the fix the line names works
    assert "content/typo.md" not in cli("check", "--root", str(site.root)).stdout


def test_translations_rows_are_told_apart_by_their_file(site):
    """A user's trial: `trip/index.en.md` and `trip/index.fr.md` gave two rows both reading
    `trip`, no telling which is which. Rows sharing a slug now carry their file's name."""
    cfg = site.root / "config" / "renditions.yaml"
    cfg.write_text(cfg.read_text().replace("content:", "languages: [en, fr]\ncontent:", 1))
    bundle = site.root / "content" / "trip"
    bundle.mkdir()
    for lang in ("en", "fr"):
        site.article("trip")
        (site.root / "content" / "trip.md").rename(bundle / f"index.{lang}.md")
    site.master("trip")
    site.article("solo")
    site.master("solo")
    shown = cli("status", "--root", str(site.root))
    assert shown.returncode == 0, shown.stderr
    slugs = [line.split("  ")[0] for line in shown.stdout.splitlines()[2:] if line and not line.startswith("content/")]
    assert sorted(slugs) == ["solo", "trip (index.en.md)", "trip (index.fr.md)"]
