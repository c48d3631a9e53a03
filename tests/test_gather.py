"""gather reads the disk for the plan, and reads only what the plan's decision needs."""

from __future__ import annotations

import os

from renditions import pipeline
from renditions.gather import gather
from renditions.plan import MASTER_CHANGED, make_plan
from renditions.session import open_session


def counted(s):
    """The session's hasher, recording each file it is asked to hash."""
    asked = []

    def digest(path):
        asked.append(os.path.basename(path))  # masters are Paths, outputs their files' text
        return s.hasher(path)

    return asked, digest


def test_what_gather_reads(site):
    for slug in ("a", "b"):
        site.article(slug)
        site.master(slug)
    site.article("lost")  # no master
    site.master("Lost")  # a near miss the hint names
    assert pipeline.build(site.root, jobs=1).failed_articles == ("content/lost.md",)

    s = open_session(site.root)
    asked, digest = counted(s)
    facts = gather(s.config, s.articles, s.manifest, digest, s.engine_id)
    assert sorted(asked) == sorted(["a.png", "b.png"] + ["a.png", "b.png"] * 4)  # masters, then the 8 outputs
    assert len(facts.present) == 8 and set(facts.outputs) == facts.present
    assert 'did you mean "source_images/Lost.png"' in facts.hints["lost"]
    assert make_plan(s.config, s.articles, s.manifest, facts, s.engine_id).jobs == ()

    site.master("a", size=(1920, 1081))  # a's outputs are stale for their master: their bytes are not read
    s = open_session(site.root)
    asked, digest = counted(s)
    facts = gather(s.config, s.articles, s.manifest, digest, s.engine_id)
    assert sorted(asked) == sorted(["a.png", "b.png"] + ["b.png"] * 4)
    plan = make_plan(s.config, s.articles, s.manifest, facts, s.engine_id)
    assert [(j.slug, {o.reason for o in j.outputs}) for j in plan.jobs] == [("a", {MASTER_CHANGED})]

    asked, digest = counted(s)
    gather(s.config, s.articles, s.manifest, digest, s.engine_id, force=True)
    assert sorted(asked) == ["a.png", "b.png"]  # forced: no output is read


def test_a_masters_header_is_read_only_for_extra_widths_not_yet_served(site):
    """An extra width written from this master and recipe needs no probe: no-op builds stay cheap."""
    from renditions.session import open_session

    site.config('variants:\n  card: {key: image, path: "/img/{slug}.png", width: 400, height: 300, densities: [2, 4]}\n')
    site.article("a", keys={"image": "/img/{slug}.png"})
    site.master("a", (1000, 750))  # serves 800 (2×), not 1600 (4×)
    measured = []

    def plan():
        s = open_session(site.root)
        real = s.measure
        s.measure = lambda p: measured.append(p.name) or real(p)
        return s.plan()

    p = plan()
    assert measured == ["a.png"]
    assert [o.site_path for o in p.stale] == ["/img/a.png", "/img/a-800w.png"]
    from renditions.pipeline import build

    assert build(site.root).ok
    measured.clear()
    p = plan()
    assert measured == ["a.png"]  # the 4× width is still unserved: the header says it stays skipped
    assert not p.stale and any("a-1600w.png skipped" in x.reason for x in p.problems)
    site.config('variants:\n  card: {key: image, path: "/img/{slug}.png", width: 400, height: 300, densities: [2]}\n')
    measured.clear()
    p = plan()
    assert measured == [] and not p.stale  # every width written from this master: no header read
