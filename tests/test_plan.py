"""The plan as pure data: config, articles, manifest and facts in; jobs, fresh outputs and
problems out. No files, no pixels: the site root below does not exist, and any disk access
during make_plan fails the test."""

from __future__ import annotations

import builtins
import os
from dataclasses import replace
from pathlib import Path

import pytest

from renditions import plan as plan_mod
from renditions.config import ENCODER_DEFAULTS, Config, Encoder, Variant
from renditions.discover import Article, Target
from renditions.manifest import Entry, Manifest
from renditions.plan import FORCED, MASTER_CHANGED, MISSING, MODIFIED, RECIPE_CHANGED, Facts, Plan

ROOT = Path("/nonexistent-renditions-site")
ENGINE = "test 1.0"


def encoders(*fmts: str) -> tuple[Encoder, ...]:
    return tuple(Encoder(f, tuple(sorted(ENCODER_DEFAULTS[f].items()))) for f in fmts)


WIDE = Variant("wide", "image", "/img/wide/{slug}.png", 800, 450, also=("webp",), encoders=encoders("png", "webp"))
TALL = Variant("tall", "mobile", "/img/tall/{slug}.jpg", 400, 600, position="attention", encoders=encoders("jpeg"))
CONFIG = Config(
    root=ROOT,
    file=ROOT / "config" / "renditions.yaml",
    content="content/**/*.md",
    sources=ROOT / "source_images",
    public=ROOT / "public",
    manifest=ROOT / "renditions.lock.json",
    focus_key="focus",
    max_pixels=100_000_000,
    max_bytes=200 << 20,
    max_front_matter_bytes=65536,
    variants=(WIDE, TALL),
)


def article(slug: str, *, focus=(), master: bool = True, wide: str | None = None, errors=()) -> Article:
    targets = (Target("wide", wide or f"/img/wide/{slug}.png", 2), Target("tall", f"/img/tall/{slug}.jpg", 3))
    return Article(
        file=ROOT / "content" / f"{slug}.md",
        rel=f"content/{slug}.md",
        slug=slug,
        targets=targets,
        focus=tuple(focus),
        master=ROOT / "source_images" / f"{slug}.png" if master else None,
        errors=tuple(errors),
    )


def dest(site_path: str) -> str:
    return str(ROOT / "public" / site_path.lstrip("/"))


def fresh_facts(articles: list[Article]) -> Facts:
    """What gather reads before a first build: every path fine, masters hashed, no output yet."""
    sites = [t.site_path for a in articles for t in a.targets]
    sites += [s[: -len(".png")] + ".webp" for s in sites if s.endswith(".png")]
    return Facts({s: dest(s) for s in sites}, {a.master: f"master:{a.slug}" for a in articles if a.master})


def built(articles: list[Article], config: Config = CONFIG) -> tuple[Manifest, Facts]:
    """The manifest and facts after a build wrote everything the first plan asked for."""
    facts = fresh_facts(articles)
    first = make_plan(config, articles, Manifest(config.manifest), facts, ENGINE)
    entries = {
        o.site_path: Entry(
            j.article, o.variant, j.shown, j.master_hash, o.recipe, ENGINE, f"out:{o.site_path}", 10, 1, 1, o.format
        )
        for j in first.jobs
        for o in j.outputs
    }
    facts = replace(facts, present=frozenset(entries), outputs={s: e.hash for s, e in entries.items()})
    return Manifest(config.manifest, entries), facts


def make_plan(*args, **kwargs) -> Plan:
    """plan.make_plan with the disk out of reach: any stat, listing or open fails the test."""
    touched = []

    def refuse(*a, **k):
        touched.append(a[:1])
        raise OSError("the plan must not touch the disk")

    saved = {name: getattr(os, name) for name in ("stat", "lstat", "listdir", "scandir", "open")}
    saved_open = builtins.open
    try:
        for name in saved:
            setattr(os, name, refuse)
        builtins.open = refuse
        result = plan_mod.make_plan(*args, **kwargs)
    finally:
        for name, fn in saved.items():
            setattr(os, name, fn)
        builtins.open = saved_open
    assert touched == [], f"make_plan touched the disk: {touched}"
    return result


@pytest.fixture(autouse=True)
def empty_cwd(tmp_path, monkeypatch):
    """The plan runs from an empty folder and leaves it empty."""
    monkeypatch.chdir(tmp_path)
    yield
    assert os.listdir(tmp_path) == []


def reasons(plan: Plan) -> dict[str, str | None]:
    found: dict[str, str | None] = {o.site_path: None for o in plan.fresh}
    found.update({o.site_path: o.reason for j in plan.jobs for o in j.outputs})
    return found


A, B = article("a"), article("b")
ALL_A = ("/img/wide/a.png", "/img/wide/a.webp", "/img/tall/a.jpg")
ALL_B = ("/img/wide/b.png", "/img/wide/b.webp", "/img/tall/b.jpg")


def changed_master(m: Manifest, f: Facts):
    return m, replace(f, masters={**f.masters, A.master: "master:a, edited"}), CONFIG, False


def changed_recipe(m: Manifest, f: Facts):
    return m, f, replace(CONFIG, variants=(replace(WIDE, width=801), TALL)), False


def modified_output(m: Manifest, f: Facts):
    return m, replace(f, outputs={**f.outputs, "/img/tall/b.jpg": "edited by hand"}), CONFIG, False


def deleted_output(m: Manifest, f: Facts):
    return m, replace(f, present=f.present - {"/img/wide/a.webp"}), CONFIG, False


def unrecorded(m: Manifest, f: Facts):
    entries = {k: v for k, v in m.entries.items() if k != "/img/wide/b.png"}
    return Manifest(m.path, entries), f, CONFIG, False


def nothing(m: Manifest, f: Facts):
    return m, f, CONFIG, False


def forced(m: Manifest, f: Facts):
    return m, f, CONFIG, True


@pytest.mark.parametrize(
    "change, expected",
    [
        (nothing, {}),
        (changed_master, dict.fromkeys(ALL_A, MASTER_CHANGED)),
        (
            changed_recipe,
            {
                "/img/wide/a.png": RECIPE_CHANGED,
                "/img/wide/a.webp": RECIPE_CHANGED,
                "/img/wide/b.png": RECIPE_CHANGED,
                "/img/wide/b.webp": RECIPE_CHANGED,
            },
        ),
        (modified_output, {"/img/tall/b.jpg": MODIFIED}),
        (deleted_output, {"/img/wide/a.webp": MISSING}),
        (unrecorded, {"/img/wide/b.png": MISSING}),
        (forced, dict.fromkeys(ALL_A + ALL_B, FORCED)),
    ],
    ids=lambda v: v.__name__ if callable(v) else "",
)
def test_what_is_stale_after_a_build(change, expected):
    manifest, facts, config, force = change(*built([A, B]))
    plan = make_plan(config, [A, B], manifest, facts, ENGINE, force)
    assert reasons(plan) == {**dict.fromkeys(ALL_A + ALL_B), **expected}
    assert plan.problems == () and plan.failed_articles == ()
    assert sorted(j.article for j in plan.jobs) == sorted({f"content/{s.split('/')[-1][0]}.md" for s in expected})


def test_a_first_build_renders_everything_with_resolved_settings():
    plan = make_plan(CONFIG, [A], Manifest(CONFIG.manifest), fresh_facts([A]), ENGINE)
    [job] = plan.jobs
    assert (job.article, job.master, job.master_hash, job.shown) == ("content/a.md", A.master, "master:a", "source_images/a.png")
    by_site = {o.site_path: o for o in job.outputs}
    assert set(by_site) == set(ALL_A) and {o.reason for o in job.outputs} == {MISSING}
    png, webp, jpg = (by_site[s] for s in ALL_A)
    # `also: webp` is a sibling: same crop, its own format and encoder settings
    assert (png.format, webp.format, jpg.format) == ("png", "webp", "jpeg")
    assert png.crop == webp.crop and png.recipe != webp.recipe
    assert dict(webp.options) == ENCODER_DEFAULTS["webp"] and dict(jpg.options) == ENCODER_DEFAULTS["jpeg"]
    assert (png.crop.width, png.crop.height, png.crop.fit, png.crop.position, png.crop.focus) == (
        800,
        450,
        "cover",
        "centre",
        None,
    )
    assert (jpg.crop.width, jpg.crop.height, jpg.crop.position, jpg.crop.focus) == (400, 600, "attention", None)
    assert (png.dest, png.line, jpg.line) == (dest("/img/wide/a.png"), 2, 3)
    assert plan.referenced == frozenset(ALL_A)


def test_a_focus_point_beats_the_position_per_variant():
    c = article("c", focus=[("*", (0.5, 0.25)), ("tall", (0.1, 0.9))])
    d = article("d", focus=[("tall", (0.1, 0.9))])
    plan = make_plan(CONFIG, [A, c, d], Manifest(CONFIG.manifest), fresh_facts([A, c, d]), ENGINE)
    crops = {(o.article, o.variant): o.crop for j in plan.jobs for o in j.outputs}
    recipes = {(o.article, o.site_path.rsplit(".", 1)[1]): o.recipe for j in plan.jobs for o in j.outputs}
    assert (crops["content/c.md", "tall"].position, crops["content/c.md", "tall"].focus) == ("centre", (0.1, 0.9))
    assert (crops["content/c.md", "wide"].position, crops["content/c.md", "wide"].focus) == ("centre", (0.5, 0.25))
    assert (crops["content/d.md", "tall"].position, crops["content/d.md", "tall"].focus) == ("centre", (0.1, 0.9))
    assert (crops["content/d.md", "wide"].position, crops["content/d.md", "wide"].focus) == ("centre", None)
    assert crops["content/a.md", "tall"].position == "attention"  # no focus: the smart crop stays
    assert recipes["content/d.md", "png"] == recipes["content/a.md", "png"]  # same settings, same recipe
    assert recipes["content/d.md", "jpg"] != recipes["content/a.md", "jpg"]  # the focus changes the pixels


def test_problems_fail_their_article_only():
    bad = article("bad")
    lost = article("lost", master=False)
    thief = article("thief", wide="/img/wide/a.png")
    broken = article("broken", errors=["slug: expected a name without / or \\, got 'x/y'"])
    unreadable = article("unreadable")
    arts = [A, bad, lost, thief, broken, unreadable]
    facts = fresh_facts(arts)
    facts = replace(
        facts,
        unplaced={"/img/tall/bad.jpg": "the path leads outside the web root (through a symbolic link)"},
        masters={**facts.masters, unreadable.master: None},
        hints={"lost": '; did you mean "source_images/Lost.png"? (wrong case: rename it to "lost.png")'},
    )
    recorded, _ = built([A])  # a.md wrote its outputs before thief.md asked for one of them
    plan = make_plan(CONFIG, arts, recorded, facts, ENGINE)
    assert [j.article for j in plan.jobs] == ["content/a.md"]
    assert plan.failed_articles == (
        "content/bad.md",
        "content/lost.md",
        "content/thief.md",
        "content/broken.md",
        "content/unreadable.md",
    )
    assert [(p.path, p.line, p.reason) for p in plan.problems] == [
        ("content/bad.md", 3, "mobile: /img/tall/bad.jpg: the path leads outside the web root (through a symbolic link)"),
        (
            "content/lost.md",
            None,
            "no master: add source_images/lost.png (or .jpg, .webp, .avif, .tif, .gif, .heic)"
            '; did you mean "source_images/Lost.png"? (wrong case: rename it to "lost.png")',
        ),
        ("content/thief.md", 2, "image: /img/wide/a.png is already written by content/a.md (source_images/a.png)"),
        (
            "content/thief.md",
            2,
            "image: /img/wide/a.webp is already written by content/a.md (source_images/a.png)",
        ),  # its `also:` sibling
        ("content/broken.md", None, "slug: expected a name without / or \\, got 'x/y'"),
        ("content/unreadable.md", None, "cannot read master source_images/unreadable.png"),
    ]
    assert all(p.error and p.article == p.path for p in plan.problems)
    assert "/img/wide/a.png" in plan.referenced and "/img/tall/bad.jpg" in plan.referenced


def test_warnings_do_not_fail_an_article():
    w = replace(article("w"), warnings=("no `mobile` key: using /img/tall/w.jpg",))
    plan = make_plan(CONFIG, [w], Manifest(CONFIG.manifest), fresh_facts([w]), ENGINE)
    assert [j.article for j in plan.jobs] == ["content/w.md"] and plan.failed_articles == ()
    assert [(p.reason, p.error) for p in plan.problems] == [("no `mobile` key: using /img/tall/w.jpg", False)]


def test_two_articles_wanting_one_path_with_no_recorded_owner_both_fail():
    copy = article("copy", wide="/img/wide/a.png")
    plan = make_plan(CONFIG, [A, copy], Manifest(CONFIG.manifest), fresh_facts([A, copy]), ENGINE)
    assert plan.jobs == () and plan.failed_articles == ("content/a.md", "content/copy.md")
    assert [str(p) for p in plan.problems] == [
        "content/a.md:2: image: /img/wide/a.png is also wanted by content/copy.md (source_images/copy.png): give one of them another path",
        "content/a.md:2: image: /img/wide/a.webp is also wanted by content/copy.md (source_images/copy.png): give one of them another path",
        "content/copy.md:2: image: /img/wide/a.png is also wanted by content/a.md (source_images/a.png): give one of them another path",
        "content/copy.md:2: image: /img/wide/a.webp is also wanted by content/a.md (source_images/a.png): give one of them another path",
    ]


def test_the_conflict_is_found_whichever_article_is_built():
    copy = article("copy", wide="/img/wide/a.png")
    recorded, _ = built([A])
    plan = make_plan(CONFIG, [copy], recorded, fresh_facts([A, copy]), ENGINE, site=[A, copy])  # --only copy
    assert plan.jobs == () and plan.failed_articles == ("content/copy.md",)
    assert (
        str(plan.problems[0])
        == "content/copy.md:2: image: /img/wide/a.png is already written by content/a.md (source_images/a.png)"
    )


def test_a_path_differing_only_in_case_or_unicode_form_is_the_same_path():
    recorded, _ = built([A])
    upper = article("upper", wide="/img/wide/A.png")
    composed, decomposed = article("x", wide="/img/wide/\u00e9.png"), article("y", wide="/img/wide/e\u0301.png")
    arts = [A, upper, composed, decomposed]
    plan = make_plan(CONFIG, arts, recorded, fresh_facts(arts), ENGINE)
    assert plan.failed_articles == ("content/upper.md", "content/x.md", "content/y.md")
    assert str(plan.problems[0]) == (
        "content/upper.md:2: image: /img/wide/A.png is already written by content/a.md (source_images/a.png) (as /img/wide/a.png)"
    )


def test_identical_requests_share_one_output_written_once():
    twin = replace(article("twin", wide="/img/wide/a.png"), master=A.master)  # a translation: same master, same settings
    plan = make_plan(CONFIG, [A, twin], Manifest(CONFIG.manifest), fresh_facts([A, twin]), ENGINE)
    assert plan.problems == () and plan.failed_articles == ()
    stale = [(o.article, o.site_path, o.owner) for j in plan.jobs for o in j.outputs if o.site_path.startswith("/img/wide/a.")]
    assert stale == [("content/a.md", "/img/wide/a.png", "content/a.md"), ("content/a.md", "/img/wide/a.webp", "content/a.md")]


def test_one_article_naming_one_path_twice_fails():
    config = replace(CONFIG, variants=(WIDE, replace(TALL, encoders=encoders("jpeg", "webp"))))
    twice = replace(article("twice"), targets=(Target("wide", "/img/wide/t.png", 2), Target("tall", "/img/wide/t.webp", 3)))
    facts = Facts({s: dest(s) for s in ("/img/wide/t.png", "/img/wide/t.webp")}, {twice.master: "master:twice"})
    plan = make_plan(config, [twice], Manifest(config.manifest), facts, ENGINE)
    assert plan.jobs == () and plan.failed_articles == ("content/twice.md",)
    assert [str(p) for p in plan.problems] == [
        "content/twice.md:3: mobile: /img/wide/t.webp is named twice in this article (by variants wide and tall): give each output its own path"
    ]
