"""gather reads the disk for the plan, and reads only what the plan's decision needs."""
from __future__ import annotations

from renditions import pipeline
from renditions.gather import gather
from renditions.plan import MASTER_CHANGED, make_plan
from renditions.session import open_session


def counted(s):
    """The session's hasher, recording each file it is asked to hash."""
    asked = []

    def digest(path):
        asked.append(path.name)
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
