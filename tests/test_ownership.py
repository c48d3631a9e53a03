"""Issue 13, end to end through the CLI on fresh sites: a build writes only files it owns or that
did not exist; two articles asking for one path never silently take each other's images."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest
from click.testing import CliRunner
from PIL import Image

from renditions.cli import main

CONFIG = """\
content: "content/**/*.md"
sources: source_images
public: public
manifest: renditions.lock.json
variants:
  card:  {key: image, path: "/img/{slug}.png",   width: 64, height: 48}
  thumb: {key: thumb, path: "/img/t/{slug}.jpg", width: 32, height: 32}
"""
KEYS = {"image": "/img/{slug}.png", "thumb": "/img/t/{slug}.jpg"}


def run(site, *args):
    return CliRunner().invoke(main, [*args, "--root", str(site.root)])


def small_site(site, slugs=("old",)):
    site.config(CONFIG)
    for i, slug in enumerate(slugs):
        site.article(slug, keys=KEYS)
        site.master(slug, (160, 120), colour=(40 * i, 90, 200))
    return site


def files(site) -> dict[str, bytes]:
    """Every file under public/, by path: what a user would diff."""
    return {str(p.relative_to(site.root)): p.read_bytes() for p in sorted(site.public.rglob("*")) if p.is_file()}


def manifest(site) -> dict:
    return json.loads((site.root / "renditions.lock.json").read_text())["outputs"]


def copy_article(site, src: str, dst: str, colour=(250, 10, 10)) -> None:
    """What a writer does: copy an article as a template, keep its image paths, add a new master."""
    shutil.copy(site.root / "content" / f"{src}.md", site.root / "content" / f"{dst}.md")
    site.master(dst, (160, 120), colour=colour)


STOLEN = "error: content/new.md:3: image: /img/old.png is already written by content/old.md (source_images/old.png)"


@pytest.mark.parametrize(
    "how", [(), ("--only", "new"), ("--shard", "1/2"), ("--shard", "2/2")], ids=["all", "only", "shard1", "shard2"]
)
def test_a_copied_article_cannot_take_the_old_articles_images(site, how):
    small_site(site)
    assert run(site, "build").exit_code == 0
    before, recorded = files(site), manifest(site)
    copy_article(site, "old", "new")
    r = run(site, "build", *how)
    assert files(site) == before and manifest(site) == recorded
    if how and how[0] == "--shard" and "content/new.md" not in r.output:
        assert r.exit_code == 0  # the shard without new.md builds nothing: old.md is up to date
        return
    assert r.exit_code == 1
    assert STOLEN in r.output.splitlines()
    assert "content/old.md" not in r.output.replace("already written by content/old.md", "")  # the blame is on new.md only


def test_check_status_and_preview_see_the_conflict_too(site):
    small_site(site)
    run(site, "build")
    copy_article(site, "old", "new")
    r = run(site, "check")
    assert r.exit_code == 1 and STOLEN.removeprefix("error: ") in r.output.splitlines()
    s = run(site, "status", "--json")
    rows = {a["article"]: a for a in json.loads(s.stdout)["articles"]}
    assert rows["content/new.md"]["variants"] == {"card": "failed", "thumb": "failed"}
    assert rows["content/old.md"]["variants"] == {"card": "up_to_date", "thumb": "up_to_date"}


def test_with_no_recorded_owner_every_claimant_fails(site):
    small_site(site)
    copy_article(site, "old", "new")
    r = run(site, "build")
    assert r.exit_code == 1 and files(site) == {}
    lines = r.output.splitlines()
    assert (
        "error: content/new.md:3: image: /img/old.png is also wanted by content/old.md (source_images/old.png): give one of them another path"
        in lines
    )
    assert (
        "error: content/old.md:3: image: /img/old.png is also wanted by content/new.md (source_images/new.png): give one of them another path"
        in lines
    )


def test_translations_share_one_output_written_once(site):
    small_site(site)
    copy_article(site, "old", "old-fr")
    shutil.copy(site.sources / "old.png", site.sources / "old-fr.png")  # same master bytes, same recipe
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    assert sorted(files(site)) == ["public/img/old.png", "public/img/t/old.jpg"]
    assert {e["article"] for e in manifest(site).values()} == {"content/old-fr.md"}  # the first by name writes it
    assert "2 written" in r.output
    assert run(site, "build").output.startswith("nothing to do")
    assert run(site, "check").exit_code == 0
    # one file, one row, as when it was written: a script counting outputs gets 2 either way
    for command in ("check", "build"):
        doc = json.loads(run(site, command, "--json").stdout)
        assert [o["path"] for o in doc["outputs"]] == ["/img/old.png", "/img/t/old.jpg"], command
        assert doc["totals"]["up_to_date"] == 2


def test_a_translation_with_its_own_focus_is_told_why_it_cannot_share(site):
    """A user's trial: index.fr.md names index.en.md's paths, same master, and a `focus` of its
    own. The refusal named the other article and the master both use, and left the reader to
    guess what differs: it now says the crop or encoding differs, and that focus may be why."""
    small_site(site)
    assert run(site, "build").exit_code == 0
    copy_article(site, "old", "old-fr")
    shutil.copy(site.sources / "old.png", site.sources / "old-fr.png")  # the same bytes
    site.article("old-fr", keys={"image": "/img/old.png", "thumb": "/img/t/old.jpg"}, extra="focus: [0.1, 0.1]")
    before = files(site)
    r = run(site, "build")
    assert r.exit_code == 1
    assert (
        "error: content/old-fr.md:3: image: /img/old.png is already written by content/old.md (source_images/old.png) "
        "with another crop or encoding than this article's (a `focus` of its own, say)"
    ) in r.output.splitlines()
    assert files(site) == before
    site.master("old-fr", (160, 120), colour=(250, 10, 10))  # another master: both are named, nothing more said
    other = run(site, "build")
    assert "image: /img/old.png is already written by content/old.md (source_images/old.png)" in other.output
    assert "another crop" not in other.output


def test_a_draft_keeps_its_output_when_another_article_names_it_meanwhile(site):
    """a built, then made a draft; b names a's path and uses a's master (same bytes: up to date
    for b). The build must not record the output under b: a still names it, and when a is
    published again (with a new focus) it keeps it, and b is refused, as before."""
    small_site(site)
    assert run(site, "build").exit_code == 0
    article = site.root / "content" / "old.md"
    article.write_text(article.read_text().replace('title: "old"', 'title: "old"\ndraft: true'))
    site.article("other", keys={"image": "/img/old.png", "thumb": "/img/t/old.jpg"})  # master: old.png, by the paths' stem
    r = run(site, "build")
    assert {e["article"] for e in manifest(site).values()} == {"content/old.md"}, r.output
    article.write_text(article.read_text().replace("draft: true", "focus: [0.1, 0.5]"))
    r = run(site, "build")
    assert "content/old.md" in {e["article"] for e in manifest(site).values()}
    assert "is already written by content/old.md" in r.output, r.output


TRANSLATED = CONFIG.replace("manifest: renditions.lock.json\n", "manifest: renditions.lock.json\nlanguages: [fr]\n")
NO_MASTER = "no master: add source_images/{slug}.png (or .jpg, .webp, .avif, .tif, .gif, .heic)"


def translations(site, pair: tuple[str, str], image: str) -> None:
    """A page and its translation naming the same image paths, as a Hugo site writes them."""
    for rel in pair:
        md = site.root / rel
        md.parent.mkdir(parents=True, exist_ok=True)
        md.write_text(f'---\ntitle: "t"\nimage: "{image}"\nthumb: "/img/t/shared.jpg"\n---\nText.\n')


@pytest.mark.parametrize(
    "pair, slug",
    [(("content/posts/trip.md", "content/posts/trip.fr.md"), "trip"), (("content/_index.md", "content/_index.fr.md"), "content")],
    ids=["post", "home"],
)
@pytest.mark.parametrize(
    "command", [("status",), ("check",), ("build", "--only", "{slug}"), ("check", "--format", "github")], ids=" ".join
)
def test_translations_without_their_master_say_no_master_not_a_collision(site, pair, slug, command):
    site.config(TRANSLATED)
    translations(site, pair, "/img/posts/trip-card.png")
    r = run(site, *(a.format(slug=slug) for a in command))
    assert r.exit_code == (0 if command == ("status",) else 1), r.output
    assert "also wanted by" not in r.output and "already written by" not in r.output, r.output
    lines = [ln for ln in r.output.splitlines() if "no master" in ln]
    assert len(lines) == 2 and all(NO_MASTER.format(slug=slug) in ln for ln in lines), r.output
    assert {rel for rel in pair if any(f"{rel}: no master" in ln for ln in lines)} == set(pair)


def test_translations_whose_shared_master_was_deleted_say_no_master(site):
    site.config(TRANSLATED)
    pair = ("content/posts/trip.md", "content/posts/trip.fr.md")
    translations(site, pair, "/img/posts/trip-card.png")
    site.master("trip", (160, 120))
    assert run(site, "build").exit_code == 0
    (site.sources / "trip.png").unlink()
    r = run(site, "check")
    assert r.exit_code == 1
    assert sorted(r.output.splitlines()[:-1]) == sorted(f"{rel}: {NO_MASTER.format(slug='trip')}" for rel in pair)


def test_articles_without_masters_of_different_slugs_still_collide(site):
    site.config(TRANSLATED)
    translations(site, ("content/trip.md", "content/walk.md"), "/img/x.png")
    r = run(site, "check")
    assert r.exit_code == 1
    assert "content/trip.md:3: image: /img/x.png is also wanted by content/walk.md: give one of them another path" in r.output


def test_a_translation_with_its_own_master_for_a_shared_path_is_a_conflict(site):
    """trip.md cuts /img/trip.png from its own master (masters: {card: portrait.png}), trip.fr.md
    from trip.png. The claims were built from each article's master, so the two looked like one
    request: every build rewrote the file from one then the other ("1 written" each time) and
    check failed for good with "stale: its master changed". They conflict, and say so."""
    site.config(CONFIG + "languages: [fr]\n")
    (site.root / "content" / "trip.md").write_text(
        '---\ntitle: "trip"\nimage: "/img/trip.png"\nthumb: "/img/t/trip.jpg"\nmasters: {card: portrait.png}\n---\nText.\n'
    )
    (site.root / "content" / "trip.fr.md").write_text(
        '---\ntitle: "trip"\nimage: "/img/trip.png"\nthumb: "/img/t/trip.jpg"\n---\nTexte.\n'
    )
    site.master("trip", (160, 120), colour=(200, 30, 30))
    site.master("portrait", (160, 120), colour=(30, 30, 200))
    first = run(site, "build")
    assert first.exit_code == 1
    assert (
        "content/trip.fr.md:3: image: /img/trip.png is also wanted by content/trip.md (source_images/portrait.png)"
        in first.output
    )
    before = files(site)
    again = run(site, "build")
    assert files(site) == before and "0 written" in again.output  # nothing rewritten back and forth
    r = run(site, "check")
    assert r.exit_code == 1 and "is also wanted by" in r.output and "stale" not in r.output


def test_paths_that_collide_on_a_case_insensitive_file_system_conflict(site):
    small_site(site)
    run(site, "build")
    before = files(site)
    site.article("shout", keys={"image": "/img/OLD.png", "thumb": "/img/t/shout.jpg"})
    site.master("shout", (160, 120), colour=(0, 0, 0))
    r = run(site, "build")
    assert r.exit_code == 1
    assert (
        "error: content/shout.md:3: image: /img/OLD.png is already written by content/old.md (source_images/old.png) (as /img/old.png)"
        in r.output.splitlines()
    )
    assert files(site) == before


def test_one_article_naming_a_path_twice_fails(site):
    small_site(site, ())
    site.article("twice", keys={"image": "/img/twice.png", "thumb": "/img/twice.png"})
    site.master("twice", (160, 120))
    r = run(site, "build")
    assert r.exit_code == 1 and files(site) == {}
    assert (
        "error: content/twice.md:4: thumb: /img/twice.png is named twice in this article (by variants card and thumb): give each output its own path"
        in r.output.splitlines()
    )


def test_a_hand_made_file_is_never_replaced(site):
    small_site(site, ("old", "other"))
    logo = site.public / "logo.png"
    logo.parent.mkdir(parents=True)
    Image.new("RGB", (64, 48), (1, 2, 3)).save(logo)
    hand_made = logo.read_bytes()
    site.article("old", keys={"image": "/logo.png", "thumb": "/img/t/old.jpg"})
    c = run(site, "check")
    assert c.exit_code == 1
    assert (
        "/logo.png: exists, but renditions did not write it (the manifest does not record it): "
        "`renditions build` takes it if it holds exactly the bytes the build makes; else move it away" in c.output.splitlines()
    )
    for args in (("build",), ("build", "--force")):  # --force never replaces a file the manifest doesn't record
        r = run(site, *args)
        assert r.exit_code == 1
        assert (
            "error: content/old.md:3: /logo.png would replace public/logo.png, which renditions did not write: move it away, then build again"
            in r.output.splitlines()
        )
        assert logo.read_bytes() == hand_made
        assert not (site.public / "img/t/old.jpg").exists()  # all or nothing: the article failed
        assert (site.public / "img/other.png").exists()  # other articles still build
        assert "/logo.png" not in manifest(site)


HAND_MADE = "error: content/old.md:3: /img/old.png would replace public/img/old.png, which renditions did not write: move it away, then build again"


def statuses(result) -> dict[str, str]:
    """Each output's status in a `--json` report: what a script reads."""
    return {o["path"]: o["status"] for o in json.loads(result.stdout)["outputs"]}


@pytest.mark.parametrize("force", [(), ("--force",)], ids=["plain", "force"])
def test_a_dry_run_fails_a_hand_made_file_as_the_build_does(site, force):
    """A file renditions did not write at an output path: `build --dry-run` (with --force too)
    says what `build` does: the same line, the article failed, exit 1; and --json agrees."""
    small_site(site, ("old", "other"))
    out = site.public / "img/old.png"
    out.parent.mkdir(parents=True)
    Image.new("RGB", (64, 48), (1, 2, 3)).save(out)
    hand_made = out.read_bytes()
    dry, dry_json = run(site, "build", "--dry-run", *force), run(site, "build", "--dry-run", "--json", *force)
    assert dry.exit_code == dry_json.exit_code == 1
    assert HAND_MADE in dry.output.splitlines()
    assert "render /img/old.png" not in dry.output and "render /img/t/old.jpg" not in dry.output
    assert dry.stdout.splitlines()[-1] == "2 to render, 0 up to date, 1 failed (dry run: nothing written)"
    assert out.read_bytes() == hand_made and not (site.root / "renditions.lock.json").exists()
    assert "note: a dry run renders nothing, so it can't tell whether a file renditions did not write" in dry.output
    real_json = run(site, "build", "--json", *force)
    assert real_json.exit_code == 1 and HAND_MADE in real_json.output.splitlines()
    assert statuses(dry_json) == {
        "/img/old.png": "failed",
        "/img/t/old.jpg": "failed",
        "/img/other.png": "stale",
        "/img/t/other.jpg": "stale",
    }
    assert statuses(real_json) == {
        **statuses(dry_json),
        "/img/other.png": "written",
        "/img/t/other.jpg": "written",
    }
    assert out.read_bytes() == hand_made


#: What build (and build --dry-run) says of small_site's /img/old.png once a user edited it.
EDITED = (
    "error: content/old.md:3: /img/old.png would replace public/img/old.png, which was changed since renditions wrote it: "
    "move it away, or run `renditions build --force` to replace it"
)


def hand_edited(site):
    """small_site built, then its /img/old.png painted over by a user: the file and its new bytes."""
    small_site(site)
    run(site, "build")
    out = site.public / "img/old.png"
    Image.new("RGB", (64, 48), (9, 9, 9)).save(out)
    return out, out.read_bytes()


def test_a_hand_edited_output_is_replaced_only_with_force(site):
    out, edited = hand_edited(site)
    site.master("old", (160, 120), colour=(200, 200, 0))  # a new master makes the output stale
    r = run(site, "build")
    assert r.exit_code == 1
    assert EDITED in r.output.splitlines()
    assert out.read_bytes() == edited
    r = run(site, "build", "--force")
    assert r.exit_code == 0 and out.read_bytes() != edited
    assert manifest(site)["/img/old.png"]["hash"] == __import__("hashlib").sha256(out.read_bytes()).hexdigest()


def test_a_dry_run_fails_a_hand_edited_output_as_the_build_does(site):
    """`build --dry-run` says what `build` will do: refuse the edited file, fail its article, exit 1."""
    out, edited = hand_edited(site)
    dry, real = run(site, "build", "--dry-run"), run(site, "build")
    assert dry.exit_code == real.exit_code == 1
    assert EDITED in dry.output.splitlines() and EDITED in real.output.splitlines()
    assert "render /img/old.png" not in dry.output
    assert dry.output.splitlines()[-1].endswith("1 failed (dry run: nothing written)")
    assert out.read_bytes() == edited
    forced = run(site, "build", "--dry-run", "--force")
    assert forced.exit_code == 0 and "render /img/old.png (forced)" in forced.output.splitlines()
    assert out.read_bytes() == edited


def test_a_dry_run_fails_a_hand_edited_stale_output_as_the_build_does(site):
    """The master changed too, so the output is stale anyway: the build still refuses the edit
    (replaces it with --force), and the dry run says so, with the same line and exit code."""
    out, edited = hand_edited(site)
    site.master("old", (160, 120), colour=(200, 200, 0))
    dry = run(site, "build", "--dry-run")
    assert dry.exit_code == 1 and EDITED in dry.output.splitlines()
    assert "render /img/old.png" not in dry.output
    assert dry.stdout.splitlines()[-1] == "0 to render, 0 up to date, 1 failed (dry run: nothing written)"
    assert out.read_bytes() == edited
    forced = run(site, "build", "--dry-run", "--force")
    assert forced.exit_code == 0 and "render /img/old.png (forced)" in forced.output.splitlines()
    assert out.read_bytes() == edited
    real = run(site, "build")
    assert real.exit_code == 1 and EDITED in real.output.splitlines() and out.read_bytes() == edited
    assert run(site, "build", "--force").exit_code == 0 and out.read_bytes() != edited


def test_a_killed_build_resumes_by_adopting_what_it_wrote(site):
    small_site(site, ("old", "other"))
    run(site, "build")
    inodes = {p: os.stat(site.root / p).st_ino for p in files(site)}
    full = manifest(site)
    (site.root / "renditions.lock.json").unlink()  # killed before the manifest was saved
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    assert "0 written, 4 adopted (already on disk)" in r.output
    assert manifest(site) == full
    assert {p: os.stat(site.root / p).st_ino for p in files(site)} == inodes  # recorded, not rewritten


# -- prune deletes only the unwanted; a glob that matches nothing fails -----------------------------


def test_a_typo_in_the_content_glob_fails_build_check_and_prune(site):
    small_site(site, ("old", "other"))
    run(site, "build")
    before = files(site)
    site.config(CONFIG.replace("content/**/*.md", "contnet/**/*.md"))
    line = "error: contnet/**/*.md: `content` in config/renditions.yaml matches no article: fix the glob"
    b = run(site, "build")
    assert b.exit_code == 2 and line in b.output.splitlines()
    c = run(site, "check")
    assert c.exit_code == 1 and line.removeprefix("error: ") in c.output.splitlines()
    for args in (("prune",), ("prune", "--dry-run")):  # the dry run refuses as prune does
        p = run(site, *args)
        assert p.exit_code == 2
        assert (
            "error: contnet/**/*.md: `content` in config/renditions.yaml matches no article: prune deletes nothing (fix the glob)"
            in p.output.splitlines()
        )
    assert files(site) == before


def test_prune_keeps_the_outputs_of_an_article_that_fails_to_parse_or_lost_its_master(site):
    """...or names a path that can't be used, and check calls none of them an orphan: it said
    'orphan: ... renditions prune deletes it' for a broken article's images, which prune keeps,
    and for a path typo prune deleted the old image while the article failed (a user's trial)."""
    small_site(site, ("a", "b", "c", "d"))
    run(site, "build")
    before, recorded = files(site), manifest(site)
    md = site.root / "content" / "a.md"
    md.write_text(md.read_text().replace('title: "a"', 'title: "a'))  # a one-character YAML typo
    (site.sources / "b.png").unlink()
    md = site.root / "content" / "d.md"
    md.write_text(md.read_text().replace('"/img/d.png"', '"/img/../d.png"'))  # a path typo
    checked = run(site, "check", "--json")
    doc = json.loads(checked.stdout)
    assert checked.exit_code == 1 and doc["totals"]["orphan"] == 0, checked.stdout
    assert {p["path"] for p in doc["problems"]} == {"content/a.md", "content/b.md", "content/d.md"}, doc["problems"]
    r = run(site, "prune")
    assert r.exit_code == 0 and "0 orphaned outputs deleted" in r.output
    assert files(site) == before and manifest(site) == recorded


def test_prune_deletes_what_an_article_no_longer_names_unless_it_was_changed(site):
    small_site(site, ("a", "b", "c"))
    run(site, "build")
    site.article("a", keys={"image": "/img/a2.png", "thumb": "/img/t/a.jpg"})
    (site.root / "content" / "b.md").unlink()
    edited = site.public / "img/t/b.jpg"
    edited.write_bytes(b"edited by hand")
    run(site, "build")
    r = run(site, "prune")
    assert r.exit_code == 0, r.output
    assert sorted(r.stdout.splitlines()[:-1]) == ["deleted /img/a.png", "deleted /img/b.png"]
    assert (
        "note: kept /img/t/b.jpg: public/img/t/b.jpg was changed since renditions wrote it (delete it yourself if nobody needs it)"
        in r.output
    )
    assert edited.read_bytes() == b"edited by hand"
    assert sorted(files(site)) == [
        "public/img/a2.png",
        "public/img/c.png",
        "public/img/t/a.jpg",
        "public/img/t/b.jpg",
        "public/img/t/c.jpg",
    ]
    assert "/img/a.png" not in manifest(site) and "/img/t/b.jpg" in manifest(site)


def test_prune_refuses_to_delete_more_than_half_without_yes(site):
    small_site(site, ("a", "b", "c"))
    run(site, "build")
    before, recorded = files(site), manifest(site)
    for slug in ("a", "b"):
        (site.root / "content" / f"{slug}.md").unlink()
    refused = (
        "error: prune: would delete 4 of the 6 outputs the manifest records, more than half: nothing deleted (check `content` in "
        "config/renditions.yaml; `renditions prune --dry-run` lists them, `renditions prune --yes` deletes them)"
    )
    r = run(site, "prune")
    assert r.exit_code == 2 and files(site) == before and manifest(site) == recorded
    assert refused in r.output.splitlines()
    dry = run(site, "prune", "--dry-run")  # says prune refuses, and still lists what it found
    assert dry.exit_code == 2 and refused in dry.output.splitlines()
    assert dry.stdout.splitlines() == [
        *(f"orphaned {p}" for p in ("/img/a.png", "/img/b.png", "/img/t/a.jpg", "/img/t/b.jpg")),
        "4 orphaned outputs found, none would be deleted: prune refuses (see the error)",
    ]
    dry_json = run(site, "prune", "--dry-run", "--json")
    real_json = run(site, "prune", "--json")
    assert dry_json.exit_code == real_json.exit_code == 2 and dry_json.stdout == real_json.stdout
    assert json.loads(dry_json.stdout)["error"]["reason"] == refused.removeprefix("error: prune: ")
    # the orphans it found, as the text lists them (a script was told the dry run lists them)
    found = json.loads(dry_json.stdout)["outputs"]
    assert [(o["path"], o["status"], o["article"]) for o in found] == [
        (p, "orphan", f"content/{p.rsplit('/', 1)[1][0]}.md")
        for p in ("/img/a.png", "/img/b.png", "/img/t/a.jpg", "/img/t/b.jpg")
    ]
    assert files(site) == before and manifest(site) == recorded
    dry = run(site, "prune", "--dry-run", "--yes")
    assert dry.exit_code == 0 and dry.stdout.splitlines()[-1] == "4 orphaned outputs to delete"
    assert files(site) == before
    r = run(site, "prune", "--yes")
    assert r.exit_code == 0 and sorted(files(site)) == ["public/img/c.png", "public/img/t/c.jpg"]


# -- the config can't aim the tool outside the site -------------------------------------------------


@pytest.mark.parametrize(
    "key, value",
    [
        ("public", "../elsewhere"),
        ("sources", "/etc"),
        ("manifest", "../renditions.lock.json"),
        ("content", "../other-site/**/*.md"),
        ("public", "out-link"),
    ],
)
def test_config_paths_must_stay_inside_the_site(site, tmp_path, key, value):
    small_site(site)
    (tmp_path / "elsewhere").mkdir(exist_ok=True)
    (site.root / "out-link").symlink_to(tmp_path / "elsewhere")
    text = CONFIG.replace(f"{key}: ", f"{key}: {json.dumps(value)} #") if f"\n{key}:" in "\n" + CONFIG else CONFIG
    site.config(text)
    for cmd in ("build", "check", "prune"):
        r = run(site, cmd)
        assert r.exit_code == 2, (cmd, r.output)
        assert (
            f"error: config/renditions.yaml: {key}: expected a path inside the site root (renditions never reads or writes "
            f'outside it), got "{value}"'
        ) in r.output.splitlines()
    assert not any((tmp_path / "elsewhere").iterdir())


def test_config_duplicate_keys_and_outputs_over_max_pixels_are_refused(site):
    small_site(site)
    site.config(CONFIG.replace("variants:", "public: other\nvariants:"))
    r = run(site, "build")
    assert r.exit_code == 2
    assert "error: config/renditions.yaml: line 5: not valid YAML (duplicate key 'public')" in r.output.splitlines()
    site.config("max_pixels: 1000\n" + CONFIG)
    r = run(site, "build")
    assert r.exit_code == 2
    assert (
        'error: config/renditions.yaml: variants.card.width: expected width × height within max_pixels (1000), got "64×48"'
        in r.output.splitlines()
    )


def test_a_build_killed_before_recording_may_replace_its_files_after_the_master_changed(site, monkeypatch):
    """The files are on disk but not in the manifest (the build died before saving it), and then
    the master changed: the journal says renditions wrote them, so the next build replaces them."""
    from renditions import manifest as manifest_mod

    small_site(site)

    def die(self):
        raise KeyboardInterrupt  # killed before the manifest is saved

    monkeypatch.setattr(manifest_mod.Manifest, "save", die)
    r = run(site, "build", "--jobs", "1")
    assert r.exit_code == 130 and sorted(files(site)) == ["public/img/old.png", "public/img/t/old.jpg"]
    monkeypatch.undo()
    assert not (site.root / "renditions.lock.json").exists()
    site.master("old", (160, 120), colour=(0, 0, 0))
    before = files(site)
    dry = run(site, "build", "--dry-run")  # the dry run reads the journal as the build does
    assert dry.exit_code == 0 and dry.stdout.splitlines()[-1] == "2 to render, 0 up to date, 0 failed (dry run: nothing written)"
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    assert "2 written" in r.output and files(site) != before
    assert not (site.root / ".renditions.journal").exists()  # everything it named is recorded now


def test_status_names_a_file_renditions_did_not_write(site):
    small_site(site)
    (site.public / "img").mkdir(parents=True)
    (site.public / "img" / "old.png").write_bytes(b"hand-made")
    r = run(site, "status")
    assert r.exit_code == 0
    assert "content/old.md: /img/old.png: a file renditions did not write is there" in r.output.splitlines()


def test_an_article_that_fails_to_parse_keeps_its_images_from_a_copy(site):
    small_site(site)
    run(site, "build")
    before, recorded = files(site), manifest(site)
    copy_article(site, "old", "new")
    md = site.root / "content" / "old.md"
    md.write_text(md.read_text().replace('title: "old"', 'title: "old'))  # a typo in the old article meanwhile
    r = run(site, "build")
    assert r.exit_code == 1 and files(site) == before and manifest(site) == recorded
    assert (
        "error: content/new.md:3: image: /img/old.png is already written by content/old.md (source_images/old.png) "
        "(which cannot be read right now)"
    ) in r.output.splitlines()


def _web_root(site, folder: str) -> None:
    cfg = site.root / "config" / "renditions.yaml"
    cfg.write_text(re.sub(r"(?m)^public: \S+", f"public: {folder}", cfg.read_text()))


def test_a_new_web_root_never_lets_force_replace_a_file_someone_made_there(site):
    """The manifest records outputs by site path; it now records its web root too. Built under
    public/, then pointed at static/ (Hugo's), where a designer's own image sits at an output's
    path: that file was taken for renditions' output edited by hand, and --force replaced it."""
    site.article("a")
    site.master("a")
    assert run(site, "build").exit_code == 0
    theirs = site.root / "static/img/artical/articles/a.png"
    theirs.parent.mkdir(parents=True)
    Image.new("RGB", (800, 450), "red").save(theirs)
    before = theirs.read_bytes()
    _web_root(site, "static")
    for args in (("check",), ("build",), ("build", "--force")):
        r = run(site, *args)
        assert r.exit_code == 1, (args, r.output)
        assert theirs.read_bytes() == before, args
    assert "which renditions did not write" in r.output and "changed since renditions wrote it" not in r.output
    assert (site.public / "img/artical/articles/a.png").is_file()  # the old root is left as it is
    assert json.loads((site.root / "renditions.lock.json").read_text())["public"] == "static"


def test_a_web_root_moved_with_its_files_is_taken_back_without_rewriting(site):
    for slug in ("a", "b"):
        site.article(slug)
        site.master(slug)
    assert run(site, "build").exit_code == 0
    shutil.move(site.public, site.root / "static")
    _web_root(site, "static")
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    assert "records outputs written under public/, but the web root is now static/" in r.output
    assert "0 written, 8 adopted (already on disk)" in r.output and "nothing to do" not in r.output
    r = run(site, "check")
    assert r.exit_code == 0 and "web root" not in r.output, r.output


def test_prune_after_the_web_root_changed_deletes_nothing_and_keeps_the_manifest(site):
    """It found nothing recorded under the new root, and saved the manifest empty: every record of
    what renditions wrote was gone, committed, even after `public` was set back."""
    site.article("a")
    site.master("a")
    assert run(site, "build").exit_code == 0
    manifest = (site.root / "renditions.lock.json").read_bytes()
    _web_root(site, "static")
    r = run(site, "prune")
    assert r.exit_code == 2
    assert "records outputs under public/, but the web root is now static/: prune deletes nothing" in r.output
    assert (site.root / "renditions.lock.json").read_bytes() == manifest
    _web_root(site, "public")
    assert run(site, "check").exit_code == 0


def test_a_path_renamed_in_case_check_and_prune_agree(site):
    """A user's trial: `image: /img/old.png` renamed `/img/OLD.png`. On a case-sensitive file
    system that is a second file: check said prune deletes the old one, prune (which compared
    paths case-folded) kept it, and check --strict failed for ever. Now the old spelling is an
    orphan to both, deleted by prune; and where the file system takes both spellings for one
    file (simulated by a hard link, as macOS's case-insensitive one would see it), neither calls
    it an orphan and prune deletes nothing, forgetting the old spelling's record."""
    small_site(site)
    assert run(site, "build").exit_code == 0
    site.article("old", keys={"image": "/img/OLD.png", "thumb": "/img/t/old.jpg"})
    assert run(site, "build").exit_code == 0
    old, new = site.public / "img" / "old.png", site.public / "img" / "OLD.png"
    assert old.exists() and new.exists() and not os.path.samefile(old, new)
    c = run(site, "check")
    assert "/img/old.png: orphan: no article references it (renditions wrote it; `renditions prune` deletes it)" in c.output
    p = run(site, "prune")
    assert p.exit_code == 0 and "1 orphaned output deleted" in p.output, p.output
    assert not old.exists() and new.exists() and "/img/old.png" not in manifest(site)
    assert run(site, "check", "--strict").exit_code == 0
    # one file under two spellings: the old record back, its name a link to the page's image
    site.article("old", keys=KEYS)
    assert run(site, "build").exit_code == 0
    site.article("old", keys={"image": "/img/OLD.png", "thumb": "/img/t/old.jpg"})
    assert run(site, "build").exit_code == 0
    old.unlink()
    os.link(new, old)
    image = new.read_bytes()
    c = run(site, "check", "--strict")
    assert c.exit_code == 0 and "orphan" not in c.output, c.output
    p = run(site, "prune")
    assert p.exit_code == 0 and "0 orphaned outputs deleted" in p.output, p.output
    assert new.read_bytes() == image and old.exists()
    assert "/img/old.png" not in manifest(site) and "/img/OLD.png" in manifest(site)
