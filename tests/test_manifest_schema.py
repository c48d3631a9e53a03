"""The manifest, stat cache and lock file are files anyone can edit: each is checked before use.

Every bad one costs one line naming the file and the fix, exit 2, and nothing is written or lost.
"""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from renditions import manifest as manifest_mod
from renditions.cli import main

MANIFEST = "renditions.lock.json"


def run(site, *args):
    return CliRunner().invoke(main, [*args, "--root", str(site.root)])


def files(site) -> dict:
    """Every file under the site and its bytes (the manifest included)."""
    out = {}
    for p in sorted(site.root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(site.root))] = p.read_bytes()
    return out


@pytest.fixture
def built(site):
    for slug in ("one", "two"):
        site.article(slug)
        site.master(slug, (1600, 900))
    r = run(site, "build")
    assert r.exit_code == 0, r.output
    return site


def _doc(site):
    return json.loads((site.root / MANIFEST).read_text())


def _one_line(site, cmd, expected):
    before = files(site)
    r = run(site, cmd)
    assert r.exit_code == 2, r.output
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert expected in lines[0], lines[0]
    assert lines[0].startswith(f"error: {MANIFEST}: ")
    assert len(lines[0]) < 400
    assert files(site) == before  # nothing written, nothing lost
    return lines[0]


def _entry_cases():
    key = "/img/artical/articles/one.png"

    def change(field, value):
        def f(doc):
            doc["outputs"][key][field] = value

        return f

    def rekey(new):
        def f(doc):
            doc["outputs"][new] = doc["outputs"].pop(key)

        return f

    def delete(field):
        def f(doc):
            del doc["outputs"][key][field]

        return f

    return [
        (change("width", "wide"), '`width` must be a whole number from 0 to 1048576, got "wide"'),
        (change("bytes", True), "`bytes` must be a whole number"),
        (change("hash", 7), "`hash` must be a hex digest, got 7"),
        (change("article", ["x"]), "`article` must be a non-empty string, got a list"),
        (change("format", "gif"), '`format` must be one of avif, jpeg, png, webp, got "gif"'),
        (change("notes", [1]), "`notes` must be a list of strings"),
        (change("evil", 1), 'has an unknown field "evil"'),
        (delete("recipe"), "has no `recipe`"),
        (
            rekey("/etc/../passwd"),
            "the key \"/etc/../passwd\" is not a site path like /img/x.png: the path contains a '..' or '.' segment",
        ),
        (rekey("etc/passwd"), "is not a site path like /img/x.png: a site path must start with /"),
        (rekey("/img/a.png?v=2"), 'is not a plain site path (it should read "/img/a.png")'),
        (rekey("/" + "a" * 5000), "the path is too long"),
    ]


@pytest.mark.parametrize("mutate, expected", _entry_cases())
def test_a_bad_entry_is_one_line_naming_it(built, mutate, expected):
    doc = _doc(built)
    mutate(doc)
    (built.root / MANIFEST).write_text(json.dumps(doc))
    for cmd in ("build", "check", "prune"):
        line = _one_line(built, cmd, expected)
        assert line.endswith(
            "delete renditions.lock.json and run `renditions build` to write a new one (every output is rendered again; files holding the same bytes are kept)"
        )


def test_an_entry_that_is_not_a_mapping(built):
    doc = _doc(built)
    doc["outputs"]["/img/x.png"] = [1, 2]
    (built.root / MANIFEST).write_text(json.dumps(doc))
    _one_line(built, "check", 'the entry for "/img/x.png" is a list, not a mapping')


def test_deep_nesting_is_refused_not_a_recursion_error(built):
    (built.root / MANIFEST).write_text(
        '{"format": "renditions-manifest", "version": 1, "outputs": ' + "[" * 200_000 + "]" * 200_000 + "}"
    )
    for cmd in ("build", "check"):
        _one_line(built, cmd, "the manifest is nested far too deeply to be one")


def test_a_lone_surrogate_is_refused_before_it_can_break_a_save(built):
    doc = _doc(built)
    doc["outputs"]["/img/artical/articles/one.png"]["engine"] = "\ud800"
    (built.root / MANIFEST).write_text(json.dumps(doc))  # ensure_ascii: written as the escape \ud800
    _one_line(built, "build", "holds text that is not valid Unicode (a lone surrogate)")


def test_a_folder_or_a_fifo_at_the_manifest(built):
    (built.root / MANIFEST).unlink()
    (built.root / MANIFEST).mkdir()
    _one_line(built, "check", "is a folder, not a manifest")
    (built.root / MANIFEST).rmdir()
    os.mkfifo(built.root / MANIFEST)
    _one_line(built, "build", "is not a regular file")  # never blocks on the FIFO


def test_the_shard_field_must_be_a_string(built):
    doc = _doc(built)
    doc["shard"] = 3
    (built.root / MANIFEST).write_text(json.dumps(doc))
    _one_line(built, "check", 'its `shard` must be a string like "1/3", got 3')


def test_one_entry_per_line_and_the_old_layout_still_reads(built):
    text = (built.root / MANIFEST).read_text()
    lines = text.splitlines()
    entries = [line for line in lines if line.startswith('  "/')]
    assert len(entries) == 8 and len(lines) == 5 + 8 + 2
    assert lines[3] == ' "public": "public",'  # the web root the outputs were written under
    assert all(json.loads("{" + line.rstrip(",") + "}") for line in entries)
    doc = json.loads(text)
    del doc["public"]  # written before the web root was recorded: read as the config's
    (built.root / MANIFEST).write_text(json.dumps(doc, indent=1, sort_keys=True))  # as earlier versions wrote it
    r = run(built, "check")
    assert r.exit_code == 0, r.output


def test_the_public_field_must_name_a_folder(built):
    doc = _doc(built)
    doc["public"] = ["public"]
    (built.root / MANIFEST).write_text(json.dumps(doc))
    _one_line(built, "check", 'its `public` must be a folder like "public", got a list')


# -- the stat cache: a bad one is ignored and rebuilt ------------------------------------------

from renditions.hashing import cache_file  # noqa: E402


@pytest.mark.parametrize(
    "content",
    [
        b"[1, 2]",
        b'{"x": 5}',
        b'{"/a": [1, 2, 3, 4, 5]}',
        b'{"/a": [1, 2, 3, 4, "short"]}',
        b'{"/a": null, "/b": {"c": []}}',
        b"[" * 100_000,
        b"\xff\xfe\x00garbage",
        b"",
    ],
)
def test_a_stat_cache_of_any_shape_is_ignored_and_rebuilt(built, content):
    cache = cache_file(built.root)
    cache.write_bytes(content)
    before = {k: v for k, v in files(built).items() if k.startswith("public/")}
    for cmd in ("check", "build"):
        r = run(built, cmd)
        assert r.exit_code == 0, r.output
        assert r.exception is None or isinstance(r.exception, SystemExit)
    assert {k: v for k, v in files(built).items() if k.startswith("public/")} == before
    doc = json.loads(cache.read_bytes())  # rebuilt by the build
    assert doc and all(isinstance(v, list) and len(v) == 5 and len(v[4]) == 64 for v in doc.values())


@pytest.mark.parametrize("bad", [5, None, "x", [1, 2], {"a": 1}, "SIG+int", "SIG+short"])
def test_a_stat_cache_with_bad_values_for_real_files(built, bad):
    """The entries of the files the build hashes, each replaced by a value of the wrong shape."""
    cache = cache_file(built.root)
    doc = json.loads(cache.read_bytes())
    assert any("source_images" in k for k in doc)
    for k, v in doc.items():
        doc[k] = v[:4] + [12345] if bad == "SIG+int" else v[:4] + ["ab"] if bad == "SIG+short" else bad
    cache.write_text(json.dumps(doc))
    for cmd in ("check", "build"):
        r = run(built, cmd)
        assert r.exit_code == 0, r.output
        assert r.exception is None or isinstance(r.exception, SystemExit)
    assert all(len(v) == 5 and len(v[4]) == 64 for v in json.loads(cache.read_bytes()).values())


def test_a_stat_cache_that_is_a_fifo_or_a_folder(built):
    cache = cache_file(built.root)
    cache.unlink()
    os.mkfifo(cache)
    assert run(built, "check").exit_code == 0  # never blocks on it
    cache.unlink()
    cache.mkdir()
    assert run(built, "build").exit_code == 0


# -- the lock file: never through a link, only a regular file --------------------------------

LOCK = ".renditions.lock"


def _lock_refused(site, cmd, expected):
    before = files(site)
    r = run(site, cmd)
    assert r.exit_code == 2, r.output
    assert r.stderr.strip().splitlines() == [f"error: {LOCK}: {expected}"]
    assert files(site) == before


def test_a_lock_symlink_is_refused_and_its_target_never_created(built, tmp_path):
    target = tmp_path / "elsewhere" / "created-by-renditions"
    (tmp_path / "elsewhere").mkdir()
    (built.root / LOCK).unlink(missing_ok=True)
    os.symlink(target, built.root / LOCK)
    msg = "is a symbolic link, not renditions' lock file: delete the link (renditions creates the file itself, never through a link)"
    for cmd in ("build", "prune"):
        _lock_refused(built, cmd, msg)
    assert not os.path.lexists(target)
    os.unlink(built.root / LOCK)
    os.symlink(tmp_path / "elsewhere", built.root / LOCK)  # a link to a folder: no traceback either
    _lock_refused(built, "build", msg)


def test_a_folder_at_the_lock_is_one_line(built):
    (built.root / LOCK).unlink(missing_ok=True)
    (built.root / LOCK).mkdir()
    _lock_refused(built, "build", "is a folder, not renditions' lock file: delete it (renditions creates the file itself)")


def test_a_fifo_at_the_lock_is_refused(built):
    (built.root / LOCK).unlink(missing_ok=True)
    os.mkfifo(built.root / LOCK)
    _lock_refused(
        built, "prune", "is not a regular file, so not renditions' lock file: delete it (renditions creates the file itself)"
    )


def test_a_conflict_in_the_old_layout_asks_for_a_hand_merge(built):
    """Before one-line entries, a conflict could split an entry: no side is whole, so no guessing."""
    doc = _doc(built)
    old = json.dumps(doc, indent=1, sort_keys=True).splitlines()
    cut = next(i for i, line in enumerate(old) if '"hash"' in line)
    text = "\n".join(
        old[:cut]
        + ["<<<<<<< HEAD", old[cut], "=======", old[cut].replace('"hash": "', '"hash": "0'), ">>>>>>> two"]
        + old[cut + 1 :]
    )
    (built.root / MANIFEST).write_text(text + "\n")
    for cmd in ("check", "build"):
        _one_line(
            built, cmd, "a merge conflict in the manifest that is not renditions' own layout: resolve it by hand, or delete"
        )


def test_a_manifest_that_cannot_be_written_is_one_line(site, monkeypatch):
    """ENOSPC as the disk reports it (injected at the one write the manifest makes). The build
    exited 2 ('nothing was done') with an error document and no rows, though its outputs were
    on disk, and check then called them files renditions did not write (a user's trial): the
    build now reports what it wrote, exit 1, and check knows them by the journal."""
    import errno

    import renditions.manifest as manifest_mod

    site.article("one")
    site.master("one", (1600, 900))
    monkeypatch.chdir(site.root)
    real = manifest_mod.write_atomic

    def full(path, data):
        if path.name == MANIFEST:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, data)

    monkeypatch.setattr(manifest_mod, "write_atomic", full)
    r = run(site, "build", "--json")
    assert r.exit_code == 1, r.output
    assert r.stderr.strip().splitlines() == [
        f"error: {MANIFEST}: cannot write the manifest: No space left on device: free space or fix the folder, then run"
        " `renditions build` again (what this build wrote stays renditions' own: the next build records it)"
    ]
    doc = json.loads(r.stdout)
    assert doc["totals"]["written"] == 4 and doc["totals"]["failed_articles"] == 0 and not doc["ok"]
    for o in doc["outputs"]:
        assert (site.public / o["path"].lstrip("/")).stat().st_size == o["bytes"]
    assert not (site.root / MANIFEST).exists()
    monkeypatch.setattr(manifest_mod, "write_atomic", real)
    r = run(site, "check")
    assert r.exit_code == 1
    assert r.stdout.count("written by a build that could not save the manifest: `renditions build` records it") == 4, r.output
    r = run(site, "build")
    assert r.exit_code == 0 and run(site, "check").exit_code == 0


_GOOD = {
    "article": "content/one.md",
    "variant": "article",
    "master": "source_images/one.jpg",
    "master_hash": "ab" * 32,
    "recipe": "0123456789abcdef",
    "engine": "libvips 8.18.7",
    "hash": "cd" * 32,
    "bytes": 1234,
    "width": 800,
    "height": 450,
    "format": "png",
    "colour": "#112233",
    "placeholder": "data:image/webp;base64,AAAA",
    "notes": ["upscaled"],
    "git": "e" * 40,
    "master_git": "f" * 64,
}
_ODD_VALUES = [
    "", "x", "AB", "ab" * 64, "ab" * 65, "g" * 40, "e" * 39, "e" * 40, "e" * 64, "é", "gif", "png",
    0, -1, 7, 1 << 20, (1 << 20) + 1, manifest_mod.MAX_BYTES * 64 + 1, True, False, 1.0, None,
    [], ["x"], [1], ["x", None], {}, {"a": 1},
]  # fmt: skip


def _agrees(outputs: dict) -> None:
    """The batch reader (manifest._batch) takes exactly what the entry-by-entry reader takes."""
    try:
        one_by_one = {k: manifest_mod._entry(k, v) for k, v in outputs.items()}
    except ValueError:
        one_by_one = None
    batch = manifest_mod._batch(json.loads(json.dumps(outputs)))
    assert batch == one_by_one
    if batch is not None:
        assert [e.to_json() for e in batch.values()] == [e.to_json() for e in one_by_one.values()]
        assert all(type(e.notes) is tuple for e in batch.values())


@pytest.mark.parametrize("field", sorted(_GOOD))
def test_the_batch_reader_refuses_what_an_entry_does(field):
    """Each field set to each odd value, beside a good entry, and left out (a default, or refused)."""
    for value in _ODD_VALUES:
        _agrees({"/img/a.png": dict(_GOOD), "/img/b.png": {**_GOOD, field: value}})
    _agrees({"/img/a.png": dict(_GOOD), "/img/b.png": {k: v for k, v in _GOOD.items() if k != field}})
    _agrees({"/img/b.png": {**_GOOD, "evil": 1}})


@pytest.mark.parametrize(
    "key", ["/img/a.png", "/img/../a.png", "img/a.png", "/img/a.png?v=2", "/img//a.png", "/" + "a" * 300, "/é/ü.png"]
)
def test_the_batch_reader_checks_each_key(key):
    _agrees({key: dict(_GOOD)})


@given(st.dictionaries(st.sampled_from(sorted(_GOOD)), st.sampled_from(_ODD_VALUES) | st.text(max_size=5) | st.integers()))
@settings(max_examples=300, deadline=None)
def test_the_batch_reader_agrees_on_any_mix(changes):
    _agrees({"/img/a.png": dict(_GOOD), "/img/b.png": {**_GOOD, **changes}})


def test_the_batch_reader_is_what_load_uses(built, monkeypatch):
    """A whole manifest is read in one batch (no entry-by-entry check), and reads as it did."""
    doc = _doc(built)
    seen = []
    monkeypatch.setattr(manifest_mod, "_entry", lambda *a: seen.append(a) or pytest.fail("read entry by entry"))
    m = manifest_mod.load(built.root / MANIFEST, MANIFEST)
    assert not seen and len(m.entries) == len(doc["outputs"]) == 8
    assert {k: e.to_json() for k, e in m.entries.items()} == doc["outputs"]


@pytest.mark.parametrize("end", ["\n", ""], ids=["as written", "last line break trimmed"])
@pytest.mark.parametrize("twice", ["an output", "the public field"])
def test_a_line_given_twice_in_valid_json_is_a_conflict_whatever_the_last_line_break(built, end, twice):
    """A key given twice, with two values, is valid JSON, whose reader would keep the last one
    silently: the reader takes it for the merge it is. Its fast path counts lines, so a line break an editor trimmed
    must not balance the repeated line (a review found it did)."""
    lines = (built.root / MANIFEST).read_text().splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith('  "/' if twice == "an output" else ' "public"'))
    other = lines[i].replace('"hash": "', '"hash": "0', 1).replace('"public": "', '"public": "x', 1)  # another value
    lines.insert(i, other if other.endswith(",") else other + ",")
    (built.root / MANIFEST).write_text("\n".join(lines) + end)
    json.loads((built.root / MANIFEST).read_text())  # valid JSON either way
    r = run(built, "check")
    assert r.exit_code == 2, r.output
    said = ("merge conflict in the manifest", "not a renditions manifest", "twice, differently (a merge=union merge")
    assert any(words in r.stderr for words in said), r.stderr
