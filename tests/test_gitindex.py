"""A fresh git clone's check reads no file git's index vouches for (gitindex.py, Hasher._vouch).

Real git, a real built site: the manifest records each output's and master's git blob id, the
site is committed and cloned, and the clone is checked with no cache at all. Every file git
holds unchanged as the recorded blob is known without being read; every other file (edited,
edited and committed, flagged as unchanged, or from a manifest without the ids) is read and
judged as before.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Site

from renditions import hashing, pipeline
from renditions.gitindex import recorded
from renditions.verify import check

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

MANIFEST = "renditions.lock.json"


def git(cwd: Path, *args: str) -> str:
    r = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """Ask git at any size, and record each file this process hashes (read) by its name."""
    monkeypatch.setattr(hashing, "VOUCH_MIN_BYTES", 0)
    seen: list[str] = []
    real = hashing._sha256_file

    def spy(path):
        seen.append(os.path.relpath(path))
        return real(path)

    monkeypatch.setattr(hashing, "_sha256_file", spy)
    return seen


def commit_and_clone(site, tmp_path, monkeypatch, name: str = "clone") -> Path:
    """The built site committed and cloned (into `name`); the clone is the working folder and has no cache."""
    git(site.root, "init", "-q")
    git(site.root, "add", "-A")
    git(site.root, "commit", "-qm", "built")
    there = tmp_path / name
    git(tmp_path, "clone", "-q", str(site.root), str(there))
    # a small clone is written within the clock tick of its index, so git itself would content-check
    # every file (racily clean): write the index once more, a tick later, as `git status` does
    time.sleep(0.05)
    git(there, "update-index", "-q", "--refresh", "--force-write-index")
    monkeypatch.setenv("RENDITIONS_CACHE_DIR", str(tmp_path / "clone-cache"))
    monkeypatch.chdir(there)
    return there


@pytest.fixture
def clone(site, tmp_path, monkeypatch) -> Site:
    """The site built (three articles), committed, and cloned; the clone has no cache."""
    for slug in ("a", "b", "c"):
        site.article(slug)
        site.master(slug, ext="jpg")
    assert pipeline.build(site.root, jobs=1).ok
    there = commit_and_clone(site, tmp_path, monkeypatch)
    copy = Site.__new__(Site)
    copy.root = there
    return copy


def test_the_manifest_records_the_blob_ids_git_gives_the_output_and_the_master(site):
    site.article("a")
    site.master("a", ext="jpg")
    assert pipeline.build(site.root, jobs=1).ok
    entries = json.loads((site.root / MANIFEST).read_text())["outputs"]
    assert len(entries) == 4
    for site_path, e in entries.items():
        out = site.public / site_path.lstrip("/")
        hashed = subprocess.run(["git", "hash-object", str(out), str(site.root / e["master"])], capture_output=True, text=True)
        assert hashed.stdout.split() == [e["git"], e["master_git"]]


def test_a_fresh_clone_check_reads_no_file_git_vouches_for(clone, reads):
    report = check(clone.root)
    assert report.ok, report.problems
    assert report.count("up to date") == 12
    assert reads == []  # 3 masters and 12 outputs, all known by their blob ids


def test_a_fresh_clone_check_stats_each_master_and_output_once(clone, reads, monkeypatch):
    """The lstat taken where a master is found and an output resolved serves git's vouching and
    the stamp too: 8,000 outputs cost 8,000 stats, not 24,000 (Session.lstats). The stamp so
    recorded answers the next check, and an edit made after it still shows."""
    from renditions import session, stamp

    monkeypatch.setattr(stamp, "RACY_NS", 0)  # the clone is seconds old: let its check be stamped
    stats: list[str] = []
    runs: list[str] = []
    real_stat, real_lstat, real_open = os.stat, os.lstat, session.open_session

    def counted(real):
        def stat(path, *args, **kwargs):
            # not the stats around a header read (sniff.sniff_hashed), which a big site's child takes
            if isinstance(path, (str, os.PathLike)) and sys._getframe(1).f_globals["__name__"] != "renditions.sniff":
                stats.append(os.path.abspath(path))
            return real(path, *args, **kwargs)

        return stat

    def opened(*args, **kwargs):
        runs.append("run")
        return real_open(*args, **kwargs)

    monkeypatch.setattr(os, "stat", counted(real_stat))
    monkeypatch.setattr(os, "lstat", counted(real_lstat))
    monkeypatch.setattr(session, "open_session", opened)
    report = check(clone.root)
    assert report.ok and report.count("up to date") == 12 and reads == []
    files = sorted(os.path.abspath(p) for p in [*clone.public.rglob("*.png"), *(clone.root / "source_images").iterdir()])
    assert len(files) == 15
    assert {f: stats.count(f) for f in files} == dict.fromkeys(files, 1)
    assert check(clone.root).ok and runs == ["run"]  # answered by the stamp
    same_size_edit(clone.out("mobile", "b"))
    again = check(clone.root)
    assert runs == ["run", "run"] and [p.path for p in again.problems] == ["/img/artical/mobile-articles/b.png"]


def test_git_is_asked_once_and_before_the_articles_are_read(clone, reads, monkeypatch):
    """Its answer is parsed in a child process while this one reads the articles (gitindex.Scan)."""
    from renditions import discover, gitindex, session

    events: list[str] = []
    real_scan, real_read = gitindex.Scan.__init__, discover.read_all

    def scan(self, root):
        events.append("git")
        real_scan(self, root)

    def read_all(*args, **kwargs):
        events.append("articles")
        return real_read(*args, **kwargs)

    monkeypatch.setattr(gitindex.Scan, "__init__", scan)
    monkeypatch.setattr(session, "read_all", read_all)
    assert check(clone.root).ok
    assert events == ["git", "articles"] and reads == []


def children() -> list[str]:
    """This process's child processes, zombies included (a child never waited for)."""
    task = f"/proc/{os.getpid()}/task"
    found = []
    for t in os.listdir(task):
        with open(f"{task}/{t}/children") as fh:
            found += fh.read().split()
    return found


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/task"), reason="needs Linux's /proc")
def test_a_run_that_stops_early_leaves_no_child_behind(clone):
    """git is asked while the session opens: an error right after (an unknown --only) or a plan
    that turns out not to need git's answer (a small site) still ends the child."""
    from renditions.errors import UsageError

    before = children()  # an earlier test's forkserver, say
    with pytest.raises(UsageError):
        pipeline.build(clone.root, jobs=1, only=("nope",))
    assert children() == before
    assert check(clone.root).ok  # 15 small files: under VOUCH_MIN_BYTES, git's answer is dropped
    assert children() == before


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/task"), reason="needs Linux's /proc")
def test_ctrl_c_while_the_articles_are_read_stops_gits_child(clone, monkeypatch):
    """Stopped and reaped when the session fails to open, not left to the system when the process
    ends (`renditions` ends without Python's teardown: no finalizer would reap it)."""
    from renditions import gitindex, session

    scans = []
    real_scan = gitindex.Scan.__init__

    def scan(self, root):
        scans.append(root)
        real_scan(self, root)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gitindex.Scan, "__init__", scan)
    monkeypatch.setattr(session, "read_all", interrupted)
    before = children()
    with pytest.raises(KeyboardInterrupt) as info:  # its traceback keeps the session's objects alive
        check(clone.root)
    assert len(scans) == 1 and children() == before
    del info


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/task"), reason="needs Linux's /proc")
def test_a_build_refused_after_the_session_opened_stops_gits_child(clone, monkeypatch):
    """A site of drafts alone: build stops with exit 2 once the session is open, before the plan
    that would have closed git's child; the child is stopped and reaped all the same."""
    from renditions import session
    from renditions.errors import UsageError

    monkeypatch.setattr(session.Session, "no_article", lambda self: "only drafts")
    before = children()
    with pytest.raises(UsageError) as info:  # its traceback keeps the session's objects alive
        pipeline.build(clone.root, jobs=1)
    assert children() == before
    del info


def test_a_root_named_with_dotdot_is_vouched_for_too(clone, reads):
    """`--root ..` or `content/..`: the files are named from the root as given, `..` and all."""
    report = check(os.path.join(clone.root, "content", ".."))
    assert report.ok and report.count("up to date") == 12
    assert reads == []


def test_a_fresh_clone_build_writes_nothing_and_reads_nothing(clone, reads):
    before = git(clone.root, "status", "--porcelain", "--untracked-files=all")
    report = pipeline.build(clone.root, jobs=1)
    assert report.ok and report.count("written") == 0 and report.count("up to date") == 12
    assert reads == []
    assert git(clone.root, "status", "--porcelain", "--untracked-files=all") == before == ""


def same_size_edit(path: Path) -> None:
    """Other bytes, same size, the old mtime put back: only git's ctime or the content can tell."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_an_output_edited_in_the_clone_is_read_and_reported(clone, reads):
    edited = clone.out("mobile", "b")
    same_size_edit(edited)
    report = check(clone.root)
    assert [(p.path, p.reason) for p in report.problems] == [
        ("/img/artical/mobile-articles/b.png", "modified by hand: its bytes differ from what renditions wrote")
    ]
    assert reads == [os.path.relpath(edited)]  # the one file git does not vouch for


def test_an_output_edited_and_committed_is_still_reported(clone, reads):
    """git holds it unchanged, but as a blob the manifest never recorded."""
    same_size_edit(clone.out("singleImage", "c"))
    git(clone.root, "commit", "-qam", "a hand edit")
    report = check(clone.root)
    assert [(p.path, p.reason) for p in report.problems] == [
        ("/img/artical/single-articles/c.png", "modified by hand: its bytes differ from what renditions wrote")
    ]


@pytest.mark.parametrize("flag", ["--assume-unchanged", "--skip-worktree"])
def test_a_file_git_is_told_not_to_look_at_is_read(clone, reads, flag):
    """git reports such a file unchanged without looking: its word is not taken."""
    master = clone.root / "source_images" / "a.jpg"
    git(clone.root, "update-index", flag, "source_images/a.jpg")
    same_size_edit(master)
    report = check(clone.root)
    assert not report.ok
    assert sorted(p.path for p in report.problems) == [
        f"/img/artical/{folder}/a.png" for folder in ("articles", "mobile-articles", "mobile-single-articles", "single-articles")
    ]
    assert os.path.relpath(master) in reads


def test_a_version_1_manifest_without_blob_ids_is_read_as_before(clone, reads):
    """A manifest an older renditions wrote: every file is hashed, and it passes; the next build
    that renders writes version 2, which an older renditions refuses with "upgrade"."""
    path = clone.root / MANIFEST
    doc = json.loads(path.read_text())
    assert doc["version"] == 2
    for e in doc["outputs"].values():
        del e["git"], e["master_git"]
    doc["version"] = 1
    path.write_text(json.dumps(doc))
    report = check(clone.root)
    assert report.ok
    assert len(reads) == 15
    clone.out("image", "a").unlink()
    assert pipeline.build(clone.root, jobs=1).count("written") == 1
    doc = json.loads(path.read_text())
    assert doc["version"] == 2
    assert [site for site, e in doc["outputs"].items() if "git" in e] == ["/img/artical/articles/a.png"]


def test_outside_a_repository_git_vouches_for_nothing(site):
    site.article("a")
    site.master("a")
    assert pipeline.build(site.root, jobs=1).ok
    assert recorded(site.root, [str(p) for p in site.public.rglob("*.png")]) == {}


def test_git_names_the_files_as_the_caller_does_from_a_subfolder_and_through_a_symlink(clone, tmp_path):
    """A site in a subfolder of its repository, reached through a symlinked path."""
    link = tmp_path / "link"
    link.symlink_to(clone.root)
    files = [str(p).replace(str(clone.root), str(link)) for p in (clone.root / "public").rglob("*.png")]
    index = recorded(link / "public", files + [str(link / "content" / "a.md")])
    out = link / "public" / "img" / "artical" / "articles" / "a.png"
    assert index[str(out)][0] == git(clone.root, "hash-object", str(out)).strip()
    assert all(path.startswith(str(link / "public") + os.sep) for path in index)
    assert len(index) == 12


def test_a_file_touched_since_git_wrote_it_is_read_and_passes(clone, reads):
    """Same bytes, another stat: git's record no longer vouches for it, its hash does."""
    touched = clone.out("image", "a")
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    report = check(clone.root)
    assert report.ok
    assert reads == [os.path.relpath(touched)]


def test_a_file_written_in_the_tick_the_index_was_is_not_vouched_for(tmp_path):
    """git's racily clean case: an edit in the same clock tick as the index write may keep the
    stat the index recorded, so only files older than the index are vouched for."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "old.png").write_bytes(b"old")
    (repo / "racy.png").write_bytes(b"racy")
    later = (repo / "old.png").stat().st_mtime_ns + 3600 * 10**9
    os.utime(repo / "racy.png", ns=(later, later))  # at or after the index's own mtime
    git(repo, "add", "-A")
    assert sorted(os.path.basename(p) for p in recorded(repo, [str(repo / "old.png"), str(repo / "racy.png")])) == ["old.png"]


MARK = b"RENDITIONS-TEST-MARK"
SMUDGE = f"import sys; sys.stdout.buffer.write(sys.stdin.buffer.read() + {MARK!r})\n"
CLEAN = f"import sys; d = sys.stdin.buffer.read(); sys.stdout.buffer.write(d[: -len({MARK!r})] if d.endswith({MARK!r}) else d)\n"


def committed_and_cloned(site, tmp_path, monkeypatch, attributes: str) -> Path:
    """The site built, and committed with `attributes` as its .gitattributes, then cloned."""
    for slug in ("a", "b"):
        site.article(slug)
        site.master(slug, ext="jpg")
    assert pipeline.build(site.root, jobs=1).ok
    (site.root / ".gitattributes").write_text(attributes)
    (tmp_path / "clean.py").write_text(CLEAN)
    (tmp_path / "smudge.py").write_text(SMUDGE)
    config = tmp_path / "gitconfig"
    config.write_text(
        f'[filter "mark"]\n\tclean = {sys.executable} {tmp_path / "clean.py"}\n\tsmudge = {sys.executable} {tmp_path / "smudge.py"}\n'
        "\trequired = true\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    return commit_and_clone(site, tmp_path, monkeypatch)


def test_a_file_a_checkout_converts_is_read_and_reported(site, tmp_path, monkeypatch, reads):
    """A smudge filter (like `text eol=crlf` on a binary file) writes other bytes than the blob's,
    and git's index records the stat of what it wrote: that file's record vouches for nothing."""
    there = committed_and_cloned(site, tmp_path, monkeypatch, "public/img/artical/articles/a.png filter=mark\n")
    reads.clear()  # what the build before the commit hashed
    converted = there / "public" / "img" / "artical" / "articles" / "a.png"
    assert converted.read_bytes().endswith(MARK)  # the checkout changed it; git calls it clean
    assert git(there, "status", "--porcelain") == ""
    report = check(there)
    assert [(p.path, p.reason) for p in report.problems] == [
        ("/img/artical/articles/a.png", "modified by hand: its bytes differ from what renditions wrote")
    ]
    assert reads == [os.path.relpath(converted)]


def test_text_auto_leaves_images_as_they_are_and_git_still_vouches(site, tmp_path, monkeypatch, reads):
    """`* text=auto` (a common .gitattributes) converts only what git finds to be text: an image
    is kept byte for byte, so the shortcut still holds."""
    there = committed_and_cloned(site, tmp_path, monkeypatch, "* text=auto eol=crlf\n")
    reads.clear()  # what the build before the commit hashed
    report = check(there)
    assert report.ok and report.count("up to date") == 8
    assert reads == []


def test_a_file_whose_size_is_not_the_recorded_one_is_read(clone, reads):
    """The manifest's byte count is a second guard: git's record of another size vouches for nothing."""
    path = clone.root / MANIFEST
    doc = json.loads(path.read_text())
    doc["outputs"]["/img/artical/mobile-articles/c.png"]["bytes"] += 1
    path.write_text(json.dumps(doc))
    report = check(clone.root)
    assert report.ok
    # the three masters are alike, so their mobile outputs are one blob: all three are read
    assert sorted(reads) == sorted(os.path.relpath(clone.out("mobile", slug)) for slug in "abc")


def test_a_merge_of_a_version_1_side_and_a_version_2_side_reads_as_version_2(tmp_path):
    """One branch upgraded renditions, the other did not: git leaves both version lines."""
    from renditions.manifest import load

    path = tmp_path / MANIFEST
    path.write_text(
        '{\n "format": "renditions-manifest",\n<<<<<<< ours\n "version": 2,\n=======\n "version": 1,\n'
        '>>>>>>> theirs\n "outputs": {\n }\n}\n'
    )
    manifest = load(path, MANIFEST, resolve=lambda site, entries: entries[0])
    assert manifest.entries == {} and manifest.healed


_IN_C_LOCALE = """
import os, sys
from renditions import sniff
from renditions.gitindex import recorded
root = os.getcwd()
files = sorted(os.path.join(d, n) for d, _, names in os.walk(os.path.join(root, "public")) for n in names)
heads = sniff.Ahead(os.path.join(root, "renditions.lock.json"), os.path.join(root, "public")).result()
print(sys.getfilesystemencoding(), len(files), len(recorded(root, files)), len(heads), len(set(heads) & set(files)))
"""


def test_both_children_name_files_as_a_c_locale_parent_does(site, tmp_path, monkeypatch):
    """Under LC_ALL=C without UTF-8 mode, this process names a non-ASCII folder in ASCII with
    escapes; the children (`python -I`, which would turn UTF-8 mode on by itself there) must
    name it alike, or git's and the headers' answers match no file. And check, run there, passes."""
    site.article("a")
    site.master("a", ext="jpg")
    assert pipeline.build(site.root, jobs=1).ok
    there = commit_and_clone(site, tmp_path, monkeypatch, "clöne")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHON"))}
    env |= {"LC_ALL": "C", "PYTHONUTF8": "0", "RENDITIONS_CACHE_DIR": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-c", _IN_C_LOCALE], cwd=os.fsencode(there), env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    encoding, files, vouched, heads, matched = r.stdout.split()
    if encoding != "ascii":
        pytest.skip(f"this Python names files in {encoding} under LC_ALL=C")
    assert int(files) == int(vouched) == int(heads) == int(matched) == 4
    r = subprocess.run(
        [sys.executable, "-m", "renditions", "check"], cwd=os.fsencode(there), env=env, capture_output=True, text=True
    )
    assert (r.returncode, r.stdout + r.stderr) == (0, "all 4 outputs up to date\n")


def index_repo(tmp_path: Path, *init: str) -> Path:
    """A repository whose index holds every kind of entry the index reader must tell apart: plain
    and executable files, a symbolic link, a submodule, files flagged assume-unchanged and
    skip-worktree, an intent-to-add, a conflict's three stages, a name longer than the 12 bits
    of an entry's name length, and a file in a subfolder."""
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    git(repo, "init", "-q", *init)
    for name in ("plain.png", "run.sh", "assumed.png", "skipped.png", "sub/deep.png", "later.png"):
        (repo / name).write_bytes(name.encode() + b"\0bytes")
    (repo / "run.sh").chmod(0o755)
    os.symlink("plain.png", repo / "link.png")
    old = time.time_ns() - 3600 * 10**9  # long before the index is written: not racily clean
    for p in repo.rglob("*"):
        if ".git" not in p.parts:
            os.utime(p, ns=(old, old), follow_symlinks=False)
    git(repo, "add", "plain.png", "run.sh", "assumed.png", "skipped.png", "sub/deep.png", "link.png")
    git(repo, "add", "-N", "later.png")
    git(repo, "update-index", "--assume-unchanged", "assumed.png")
    git(repo, "update-index", "--skip-worktree", "skipped.png")
    blob = git(repo, "hash-object", "-w", "plain.png").strip()
    long_name = "/".join(["d" * 200] * 21) + "/long.png"  # 4,229 bytes
    git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{long_name}")
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{blob},submodule")
    stages = "".join(f"100644 {blob} {n}\tconflict.png\n" for n in (1, 2, 3))
    subprocess.run(["git", "update-index", "--index-info"], cwd=repo, input=stages, text=True, check=True)
    return repo


def both_readings(repo: Path, prefix: bytes = b"") -> tuple[dict | None, dict | None]:
    from renditions.gitindex import _listed, _read_index

    index = repo / ".git" / "index"
    data, written = index.read_bytes(), index.stat().st_mtime_ns
    algorithm = git(repo, "rev-parse", "--show-object-format").strip()
    rel = "." if not prefix else prefix.decode().rstrip("/")
    return _read_index(data, prefix, written, algorithm), _listed(str(repo), rel, prefix, written)


@pytest.mark.parametrize("init", [(), ("--object-format=sha256",)], ids=["sha1", "sha256"])
def test_the_index_read_directly_says_what_git_ls_files_says(tmp_path, init):
    """The index file read in place (versions 2 and 3) keeps exactly the entries git's own listing
    does: what `git ls-files` tags as compared by stat, merged, a plain or executable file."""
    repo = index_repo(tmp_path, *init)
    direct, listed = both_readings(repo)
    assert direct is not None
    assert direct == listed
    long_name = ("/".join(["d" * 200] * 21) + "/long.png").encode()
    # git's listing keeps the intent-to-add, whose stat is all zeros: no file matches it
    assert sorted(direct) == sorted([b"plain.png", b"run.sh", b"sub/deep.png", b"later.png", long_name])
    blob = git(repo, "rev-parse", ":plain.png").strip()
    assert direct[b"plain.png"][0] == blob and len(blob) == (64 if init else 40)
    assert direct[b"plain.png"][1] == len(b"plain.png\0bytes")
    st = os.stat(repo / "plain.png")
    assert direct[b"plain.png"][2:] == (st.st_mtime_ns, st.st_ctime_ns, st.st_ino & 0xFFFFFFFF)
    in_sub, listed_sub = both_readings(repo, b"sub/")
    assert in_sub == listed_sub == {b"sub/deep.png": direct[b"sub/deep.png"]}


@pytest.mark.parametrize("layout", [("--index-version", "4"), ("--split-index",)], ids=["version-4", "split-index"])
def test_an_index_of_another_layout_is_listed_by_git(tmp_path, layout):
    """Version 4's compressed names and a split index are not read in place: git lists them, and
    files are vouched for as before."""
    repo = index_repo(tmp_path)
    git(repo, "update-index", *layout)
    direct, listed = both_readings(repo)
    assert direct is None
    assert listed is not None and sorted(listed)[-1] == b"sub/deep.png"
    found = recorded(repo, [str(repo / "plain.png"), str(repo / "sub" / "deep.png"), str(repo / "assumed.png")])
    assert sorted(os.path.basename(p) for p in found) == ["deep.png", "plain.png"]


def test_a_damaged_index_is_not_read_in_place(tmp_path):
    """A flipped byte fails the index's own checksum: nothing is taken from it."""
    from renditions.gitindex import _read_index

    repo = index_repo(tmp_path)
    data = bytearray((repo / ".git" / "index").read_bytes())
    data[40] ^= 1
    assert _read_index(bytes(data), b"", time.time_ns(), "sha1") is None
