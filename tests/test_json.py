"""Machine output: `--json` keeps a fixed set of snake_case keys, errors are JSON too, schemas ship."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import Site, json_report, load_schema

import renditions
from renditions.cli import main

TOTALS = {"written", "adopted", "up_to_date", "stale", "failed", "orphan", "pruned", "failed_articles", "bytes_written"}


def run(site: Site, *args: str):
    return CliRunner().invoke(main, [*args, "--root", str(site.root)])


@pytest.fixture
def built(site) -> Site:
    site.article("alpha")
    site.master("alpha")
    assert run(site, "build").exit_code == 0
    return site


def test_a_no_op_build_keeps_every_total_with_zeros(built, report_validator):
    r = run(built, "build", "--json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    report_validator.validate(doc)
    assert set(doc["totals"]) == TOTALS
    assert doc["totals"] == {**dict.fromkeys(TOTALS, 0), "up_to_date": 4}
    assert {o["status"] for o in doc["outputs"]} == {"up_to_date"}
    assert all(" " not in k for o in doc["outputs"] for k in o)


def test_check_prune_and_status_reports_match_the_schema(built, report_validator):
    built.article("beta")  # a site with no article at all fails check (issue 13): keep one
    built.master("beta")
    assert run(built, "build").exit_code == 0
    (built.root / "content" / "alpha.md").unlink()
    # a dry run reports the orphans as they are (as build's reports `stale`, not `written`); prune, what it did
    statuses = {"check": "orphan", "prune --dry-run": "orphan", "prune": "pruned"}
    for args, code in ((("check", "--json"), 0), (("prune", "--dry-run", "--json"), 0), (("prune", "--json"), 0)):
        r = run(built, *args)
        assert r.exit_code == code, r.output
        report_validator.validate(json.loads(r.stdout))
        totals = json.loads(r.stdout)["totals"]
        status = statuses[" ".join(args[:-1])]
        assert totals[status] == 4 and totals["pruned" if status == "orphan" else "orphan"] == 0, (args, totals)
        # each orphan and pruned output names the article and variant the manifest recorded for it
        got = {(o["path"], o["article"], o["variant"]) for o in json.loads(r.stdout)["outputs"] if o["status"] != "up_to_date"}
        assert got == {
            ("/img/artical/articles/alpha.png", "content/alpha.md", "article"),
            ("/img/artical/mobile-articles/alpha.png", "content/alpha.md", "mobile-article"),
            ("/img/artical/single-articles/alpha.png", "content/alpha.md", "single"),
            ("/img/artical/mobile-single-articles/alpha.png", "content/alpha.md", "mobile-single"),
        }, r.stdout
    doc = json.loads(run(built, "check", "--json").stdout)
    assert doc["totals"]["orphan"] == 0 and doc["totals"]["pruned"] == 0  # prune removed them; the keys stay
    # status runs in a child process (see test_status.py): json_report validates its stdout
    st = subprocess.run(
        [sys.executable, "-m", "renditions", "status", "--json", "--root", str(built.root)], capture_output=True, text=True
    )
    assert st.returncode == 0, st.stderr
    doc = json_report(st.stdout)
    assert set(doc["totals"]) == {"up_to_date", "stale", "missing", "failed"}


def test_a_real_manifest_matches_the_manifest_schema(built):
    doc = json.loads((built.root / "renditions.lock.json").read_text())
    jsonschema.Draft202012Validator(load_schema("manifest")).validate(doc)
    assert len(doc["outputs"]) == 4
    doc["outputs"]["/img/artical/articles/alpha.png"]["width"] = "800"
    with pytest.raises(jsonschema.ValidationError):  # the schema is not a rubber stamp
        jsonschema.Draft202012Validator(load_schema("manifest")).validate(doc)


def test_config_error_with_json_is_json_on_stdout_with_exit_2(site, report_validator):
    site.config("content: 5\nvariants: {}\nbogus: 1\n")
    r = run(site, "build", "--json")
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    report_validator.validate(doc)
    assert doc["ok"] is False and doc["exit_code"] == 2 and doc["command"] == "build"
    assert doc["error"]["kind"] == "config" and doc["error"]["path"] == "config/renditions.yaml"
    assert len(doc["error"]["problems"]) >= 2  # every problem of the config, not just the first
    assert r.stderr.startswith("error: config/renditions.yaml: ")  # the message on stderr stays


@pytest.mark.parametrize(
    "text, line",
    [("variants: [\n", 2), ("content: 'content/**/*.md'\nvariants: {}\n\nbogus: 1\n", None), ("a: 1\n\n\nfoo: 2\n", None)],
)
def test_a_config_error_s_line_is_the_json_document_s_line(site, text, line):
    """The line was only inside `reason` ("line 2: not valid YAML ..."), `line` was null."""
    site.config(text)
    r = run(site, "build", "--json")
    doc = json.loads(r.stdout)
    assert r.exit_code == 2 and doc["error"]["kind"] == "config"
    if line is not None:
        assert doc["error"]["line"] == line and doc["error"]["reason"].startswith(f"line {line}: not valid YAML")
    else:  # several problems: no one line is the error's
        assert len(doc["error"]["problems"]) > 1 and doc["error"]["line"] is None


def test_a_lone_unknown_setting_s_line_is_the_document_s_line(built):
    cfg = built.root / "config" / "renditions.yaml"
    cfg.write_text(cfg.read_text() + "\nbogus: 1\n")
    doc = json.loads(run(built, "check", "--json").stdout)
    n = cfg.read_text().splitlines().index("bogus: 1") + 1
    assert doc["error"]["line"] == n and doc["error"]["reason"].startswith(f"line {n}: bogus: not a setting")


def test_usage_errors_with_json_are_json_too(built, report_validator):
    r = run(built, "build", "--json", "--only", "nope")
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert doc["error"]["kind"] == "usage" and "no article has the slug nope" in doc["error"]["reason"]
    r = run(built, "check", "--json", "--format", "xml")  # click's own usage error
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    report_validator.validate(doc)
    assert doc["command"] == "check" and doc["error"]["kind"] == "usage" and "xml" in doc["error"]["reason"]
    assert "Invalid value for '--format'" in r.stderr
    r = run(built, "check", "--format", "xml")  # without --json: no JSON
    assert r.exit_code == 2 and r.stdout == ""


def test_the_python_api_takes_one_slug_as_a_string(built):
    built.article("beta")
    built.master("beta")
    report = renditions.build(built.root, only="beta")
    assert report.count("written") == 4 and {o.article for o in report.outputs} == {"content/beta.md"}
    report = renditions.build(built.root, only=iter(["alpha", "beta"]), force=True)
    assert report.count("written") == 8
    with pytest.raises(renditions.UsageError, match=r"no article has the slug b$"):
        renditions.build(built.root, only=["b"])


def test_the_python_api_raises_typed_errors(site):
    with pytest.raises(renditions.ConfigError) as exc:
        renditions.check(site.root / "nowhere")
    assert isinstance(exc.value, renditions.RenditionsError) and exc.value.reason == "no such folder"
    (site.root / "empty").mkdir()
    with pytest.raises(renditions.ConfigError) as exc:
        renditions.check(site.root / "empty")
    assert "no config file here" in exc.value.reason
    (site.root / "renditions.lock.json").write_text("{")
    with pytest.raises(renditions.ManifestError):
        renditions.check(site.root)


def test_the_python_api_refuses_what_the_cli_refuses(built):
    """--engine is a choice and --jobs at least 1: the API refuses the same values with a
    UsageError (not a ValueError, not the CPU count instead), writing nothing."""
    cli = run(built, "build", "--engine", "nope")
    assert cli.exit_code == 2 and "'nope' is not one of 'auto', 'vips', 'pillow'" in cli.output
    for call in (renditions.build, renditions.check):
        with pytest.raises(renditions.UsageError) as exc:
            call(built.root, engine="nope")
        assert exc.value.message == "engine: 'nope' is not one of 'auto', 'vips', 'pillow'"
    assert run(built, "build", "--jobs", "0").exit_code == 2
    built.out("image", "alpha").unlink()
    for jobs in (0, -1):
        with pytest.raises(renditions.UsageError) as exc:
            renditions.build(built.root, jobs=jobs)
        assert exc.value.message == f"jobs: {jobs} is not in the range x>=1"
    assert not built.out("image", "alpha").exists()  # nothing was built


def test_dir_lists_the_api():
    """The names are imported lazily (module __getattr__), so without __dir__ dir() lacks them."""
    public = [n for n in dir(renditions) if not n.startswith("_")]
    assert public == sorted(renditions.__all__)
    assert "build" in public and "RenditionsError" in public and "__doc__" in dir(renditions)


@pytest.mark.parametrize(
    "mutate, named",
    [
        (lambda d: d["totals"].update({"up to date": d["totals"].pop("up_to_date")}), "up to date"),  # the old key
        (lambda d: d.update({"Written": 0}), "Written"),  # a key the schema doesn't know
        (lambda d: d["outputs"][0].update({"status": "up to date"}), "up to date"),  # a status outside the six
    ],
)
def test_json_report_rejects_a_document_with_a_wrong_key(built, mutate, named):
    """json_report, which every subprocess `--json` test reads through, accepts the real output and
    refuses the same document with one key wrong, naming it."""
    r = subprocess.run(
        [sys.executable, "-m", "renditions", "build", "--json", "--root", str(built.root)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    doc = json_report(r.stdout)
    assert doc["totals"]["up_to_date"] == 4
    mutate(doc)
    with pytest.raises(AssertionError, match=r"does not match schemas/report\.schema\.json") as caught:
        json_report(json.dumps(doc))
    assert named in str(caught.value)


def test_an_adopted_output_is_in_the_schema(built, report_validator):
    """The manifest deleted (its README'd fix when corrupt): build adopts every file it would
    write identically. `--json` said status "adopted", which the shipped schema did not allow."""
    (built.root / "renditions.lock.json").unlink()
    r = run(built, "build", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    report_validator.validate(doc)
    n = len(doc["outputs"])
    assert n > 0 and doc["totals"]["adopted"] == n and doc["totals"]["written"] == 0
    assert {o["status"] for o in doc["outputs"]} == {"adopted"}


def test_every_output_a_page_names_has_a_row_even_when_its_article_fails(built, report_validator):
    """A script reading `outputs` to learn which images a page shows missed every output of an
    article with no master: the article was in `failed_articles`, its outputs in no row. Now
    build and its dry run list them `failed`, check lists them `stale`; `missing` when no file
    is there, no reason when a file built before is (its master since deleted)."""
    built.article("beta")  # no master
    rows = {}
    for args in (("build", "--json"), ("build", "--dry-run", "--json"), ("check", "--json")):
        r = run(built, *args)
        assert r.exit_code == 1, r.output
        doc = json.loads(r.stdout)
        report_validator.validate(doc)
        assert doc["totals"]["failed_articles"] == 1
        rows[args] = {o["path"]: o for o in doc["outputs"] if o["article"] == "content/beta.md"}
        assert sorted(rows[args]) == sorted(p.replace("alpha", "beta") for p in _alpha_paths(doc))
    assert {(o["status"], o["reason"]) for o in rows[("build", "--json")].values()} == {("failed", "missing")}
    assert {(o["status"], o["reason"]) for o in rows[("build", "--dry-run", "--json")].values()} == {("failed", "missing")}
    assert {(o["status"], o["reason"]) for o in rows[("check", "--json")].values()} == {("stale", "missing")}
    assert json.loads(run(built, "build", "--json").stdout)["totals"]["failed"] == 4
    (built.sources / "alpha.png").unlink()  # built before, its master gone: the files are there
    doc = json.loads(run(built, "check", "--json").stdout)
    alpha = [o for o in doc["outputs"] if o["article"] == "content/alpha.md"]
    assert len(alpha) == 4 and {(o["status"], o["reason"]) for o in alpha} == {("stale", None)}
    assert all(built.out(k, "alpha").exists() for k in ("image", "mobile"))


def _alpha_paths(doc: dict) -> list[str]:
    return [o["path"] for o in doc["outputs"] if o["article"] == "content/alpha.md"]
