"""Fault injection: kill builds at random points, make writes fail, and check what is left.

After any SIGKILL: the manifest parses, every image file in the web root is complete (byte-equal
to what an uninterrupted build writes for one of its master's versions), and every manifest entry
is a complete record. After the next build: no temporary or empty file remains, every manifest
entry's file has the recorded hash, and files and manifest equal those of an uninterrupted build.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from renditions import pipeline
from renditions import write as write_mod
from renditions.manifest import load as load_manifest
from renditions.write import TMP_SUFFIX

CONFIG = """\
content: "content/**/*.md"
sources: source_images
public: public
manifest: renditions.lock.json
variants:
  card:   {key: image,       path: "/img/card/{slug}.png",   width: 200, height: 120}
  mobile: {key: mobile,      path: "/img/mobile/{slug}.jpg", width: 160, height: 160}
  hero:   {key: singleImage, path: "/img/hero/{slug}.webp",  width: 300, height: 200}
"""
SLUGS = [f"post-{i}" for i in range(6)]
KILLS = 100
LANES = 3  # independent sites killed in parallel, to keep the test short on 2 cores
RESUME_EVERY = 5


def master_bytes(seed: int) -> bytes:
    im = Image.merge("RGB", [Image.effect_noise((400, 300), 30 + seed + 7 * c).convert("L") for c in range(3)])
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def make_site(root: Path, versions: dict[str, int]) -> None:
    for d in ("config", "content", "source_images"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "config" / "renditions.yaml").write_text(CONFIG)
    for slug in SLUGS:
        # every variant key written out: `check` fails an article that leaves one to the template (issue 15)
        keys = f"image: /img/card/{slug}.png\nmobile: /img/mobile/{slug}.jpg\nsingleImage: /img/hero/{slug}.webp\n"
        (root / "content" / f"{slug}.md").write_text(f"---\ntitle: {slug}\n{keys}---\nbody\n")
        set_master(root, slug, versions[slug])


MASTERS: dict[tuple[str, int], bytes] = {}


def set_master(root: Path, slug: str, version: int) -> None:
    key = (slug, version)
    if key not in MASTERS:
        MASTERS[key] = master_bytes(SLUGS.index(slug) * 2 + version)
    (root / "source_images" / f"{slug}.png").write_bytes(MASTERS[key])


def build_cmd(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "renditions", "build", "--root", str(root), "-j", "1", *args]


def env_for(root: Path) -> dict:
    return dict(os.environ, RENDITIONS_CACHE_DIR=str(root.parent / (root.name + "-cache")))


def files(public: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, names in os.walk(public):
        for name in names:
            p = Path(dirpath) / name
            out[str(p.relative_to(public))] = p.read_bytes()
    return out


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Reference:
    """What an uninterrupted build writes, per output, for master version 0 and version 1."""

    def __init__(self, tmp: Path):
        self.files: dict[int, dict[str, bytes]] = {}
        self.entries: dict[int, dict[str, dict]] = {}
        self.duration = 0.0
        for version in (0, 1):
            root = tmp / f"ref{version}"
            make_site(root, {s: version for s in SLUGS})
            t = time.monotonic()
            r = subprocess.run(build_cmd(root), capture_output=True, text=True, env=env_for(root), timeout=120)
            self.duration = max(self.duration, time.monotonic() - t)
            assert r.returncode == 0, r.stderr
            self.files[version] = files(root / "public")
            self.entries[version] = json.loads((root / "renditions.lock.json").read_text())["outputs"]
        assert len(self.files[0]) == len(SLUGS) * 3
        assert all(self.files[0][k] != self.files[1][k] for k in self.files[0])
        # builds are deterministic: a second uninterrupted build is byte-identical
        again = tmp / "ref-again"
        make_site(again, {s: 0 for s in SLUGS})
        subprocess.run(build_cmd(again), capture_output=True, env=env_for(again), timeout=120, check=True)
        assert files(again / "public") == self.files[0]

    def expected(self, versions: dict[str, int]) -> tuple[dict[str, bytes], dict[str, dict]]:
        fs, es = {}, {}
        for rel in self.files[0]:
            slug = Path(rel).stem
            fs[rel] = self.files[versions[slug]][rel]
            es["/" + rel] = self.entries[versions[slug]]["/" + rel]
        return fs, es


def check_after_kill(root: Path, ref: Reference, note: str) -> None:
    public = root / "public"
    for rel, data in files(public).items():
        if rel.endswith(TMP_SUFFIX):
            continue  # a killed build's temporary file: swept by the next build
        assert data in (ref.files[0].get(rel), ref.files[1].get(rel)), f"{note}: {rel} is partial or foreign"
    path = root / "renditions.lock.json"
    if not path.exists():
        return
    man = load_manifest(path, "renditions.lock.json")  # never truncated or invalid
    for site_path, entry in man.entries.items():
        rel = site_path.lstrip("/")
        as_json = entry.to_json()
        assert as_json in (ref.entries[0].get(site_path), ref.entries[1].get(site_path)), f"{note}: bad entry {site_path}"
        data = (public / rel).read_bytes()  # every recorded output exists...
        recorded = next(v for v in (0, 1) if ref.entries[v][site_path] == as_json)
        # ...and is what the entry says, or a newer complete rendition not yet recorded
        assert sha(data) == entry.hash or data == ref.files[1 - recorded][rel], f"{note}: {site_path}"


def check_after_resume(root: Path, ref: Reference, versions: dict[str, int], note: str) -> None:
    public = root / "public"
    on_disk = files(public)
    debris = [rel for rel, data in on_disk.items() if TMP_SUFFIX in rel or not data]
    assert debris == [], f"{note}: left behind {debris}"
    assert not [n for n in os.listdir(root) if n.endswith(TMP_SUFFIX)], note
    want_files, want_entries = ref.expected(versions)
    assert on_disk == want_files, note
    doc = json.loads((root / "renditions.lock.json").read_text())
    assert doc["outputs"] == want_entries, note
    for site_path, entry in doc["outputs"].items():
        assert sha((public / site_path.lstrip("/")).read_bytes()) == entry["hash"]


def stamps(public: Path) -> dict[str, tuple[int, int]]:
    """(inode, size) of every file in the web root: a new inode means a build wrote it."""
    out = {}
    for dirpath, _, names in os.walk(public):
        for name in names:
            try:
                st = os.stat(Path(dirpath) / name)
            except FileNotFoundError:  # a temporary file renamed under our feet
                continue
            out[os.path.join(dirpath, name)] = (st.st_ino, st.st_size)
    return out


def kill_at(p: subprocess.Popen, public: Path, before: dict, k: int, rng: random.Random) -> float:
    """SIGKILL the build once it has written (or started writing) k files, plus a random few
    milliseconds; k = 0 kills it at a random moment of start-up and planning. Anchoring to
    progress instead of a clock keeps the kill points spread over the writes on a busy machine."""
    t = time.monotonic()
    if k == 0:
        time.sleep(rng.uniform(0.02, 0.6))
    else:
        while p.poll() is None and len(stamps(public).items() - before.items()) < k:
            time.sleep(0.004)
        time.sleep(rng.uniform(0, 0.03))
    p.send_signal(signal.SIGKILL)
    return time.monotonic() - t


def lane(root: Path, ref: Reference, kills: int, seed: int, log: list) -> None:
    rng = random.Random(seed)
    versions = {s: 0 for s in SLUGS}
    make_site(root, versions)
    env = env_for(root)
    public = root / "public"
    for i in range(1, kills + 1):
        mode = rng.choice(["fresh", "fresh", "flip", "flip", "force"])
        args: list[str] = []
        writes = len(SLUGS) * 3
        if mode == "fresh":  # a first build of the whole site
            shutil.rmtree(public, ignore_errors=True)
            (root / "renditions.lock.json").unlink(missing_ok=True)
        elif mode == "flip":  # some masters changed: their outputs are replaced
            changed = rng.sample(SLUGS, rng.randint(2, 4))
            for slug in changed:
                versions[slug] = 1 - versions[slug]
                set_master(root, slug, versions[slug])
            writes = len(changed) * 3
        else:
            args = ["--force"]
        k = rng.randint(0, writes)
        before = stamps(public)
        p = subprocess.Popen(build_cmd(root, *args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        delay = kill_at(p, public, before, k, rng)
        _, err = p.communicate()
        log.append((seed, i, mode, round(delay, 3), p.returncode, len(stamps(public).items() - before.items())))
        assert p.returncode in (-signal.SIGKILL, 0), err.decode()
        note = f"lane {seed} kill {i} ({mode}, after {k} of {writes} writes, {delay:.2f}s)"
        check_after_kill(root, ref, note)
        if i % RESUME_EVERY == 0 or i == kills:
            r = subprocess.run(build_cmd(root), capture_output=True, text=True, env=env, timeout=120)
            assert r.returncode == 0, f"{note}: resumed build failed: {r.stderr}"
            check_after_resume(root, ref, versions, note)


@pytest.mark.slow
def test_kill_at_100_random_points(tmp_path):
    ref = Reference(tmp_path)
    log: list = []
    errors: list = []

    def run(n: int) -> None:
        try:
            lane(tmp_path / f"lane{n}", ref, len(range(n, KILLS, LANES)), seed=n, log=log)
        except BaseException as exc:  # reported below, with the lane that failed
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(LANES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    assert len(log) == KILLS
    killed = [entry for entry in log if entry[4] == -signal.SIGKILL]
    mid_write = [entry for entry in killed if entry[5] > 0]
    print(
        f"\n{KILLS} kill points over a {ref.duration:.2f}s build: {len(killed)} killed mid-run "
        f"({len(mid_write)} after writing some files), {KILLS - len(killed)} had finished"
    )
    assert len(killed) >= KILLS // 2 and len(mid_write) >= KILLS // 5


# -- a full disk ----------------------------------------------------------------------------------


class _FullDisk:
    """Stands in for the `os` module inside renditions.write: writing `victim` runs out of space
    halfway through the data, like a real ENOSPC."""

    def __init__(self, victim: str):
        self.victim = victim

    def __getattr__(self, name):
        return getattr(os, name)

    def fdopen(self, fd, mode="r", *args, **kwargs):
        fh = os.fdopen(fd, mode, *args, **kwargs)
        name = os.readlink(f"/proc/self/fd/{fd}") if os.path.exists(f"/proc/self/fd/{fd}") else ""
        if os.path.basename(name).startswith("." + self.victim + "."):
            real_write = fh.write

            def write(data):
                real_write(data[: len(data) // 2])
                fh.flush()
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            fh.write = write
        return fh


class _ReplaceFails:
    """`os.replace` fails for `victim` (the folder went read-only, say)."""

    def __init__(self, victim: str):
        self.victim = victim

    def __getattr__(self, name):
        return getattr(os, name)

    def replace(self, src, dst):
        if os.path.basename(dst) == self.victim:
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(dst))
        return os.replace(src, dst)


class _FolderLocked:
    """No file can be created in the folder `victim` (read-only, immutable, another owner's)."""

    def __init__(self, victim: str):
        self.victim = victim

    def __getattr__(self, name):
        return getattr(os, name)

    def open(self, path, flags, mode=0o777):
        if os.path.basename(os.path.dirname(path)) == self.victim and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return os.open(path, flags, mode)


def test_a_folder_that_cannot_be_written_in_is_named_with_the_output(tmp_path, monkeypatch):
    """The error named the absolute temporary file the build tried to create
    (`cannot write /abs/public/img/hero/.post-0.webp.7867579ebcc2.renditions-tmp`), not the
    output, relative to the site, as every other line does (a user's trial)."""
    monkeypatch.setenv("RENDITIONS_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "site"
    make_site(root, {s: 0 for s in SLUGS})
    (root / "public" / "img" / "hero").mkdir(parents=True)
    monkeypatch.setattr(write_mod, "os", _FolderLocked("hero"))  # forked workers inherit the patch
    report = pipeline.build(root, jobs=2)
    monkeypatch.undo()
    assert sorted(report.failed_articles) == [f"content/{s}.md" for s in SLUGS]
    assert sorted(p.reason for p in report.errors) == [f"cannot write public/img/hero/{s}.webp: Permission denied" for s in SLUGS]
    assert not [p for p in root.rglob("*") if TMP_SUFFIX in p.name]


@pytest.mark.skipif(not os.path.exists("/proc/self/fd"), reason="needs /proc to tell which file is written")
@pytest.mark.parametrize("victim", ["post-2.webp", "post-2.png"])
def test_disk_full_fails_that_article_cleanly(tmp_path, monkeypatch, victim):
    """post-2's outputs are written png, jpg, webp: the disk fills on the first or the last."""
    monkeypatch.setenv("RENDITIONS_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "site"
    make_site(root, {s: 0 for s in SLUGS})
    assert pipeline.build(root, jobs=1).ok
    before = files(root / "public")
    manifest_before = json.loads((root / "renditions.lock.json").read_text())["outputs"]
    for slug in SLUGS:
        set_master(root, slug, 1)
    monkeypatch.setattr(write_mod, "os", _FullDisk(victim))  # forked workers inherit the patch
    report = pipeline.build(root, jobs=2)
    monkeypatch.undo()
    assert report.failed_articles == ("content/post-2.md",)
    [problem] = report.errors
    assert "No space left on device" in problem.reason and problem.path == "content/post-2.md"
    assert victim in problem.reason and "None" not in problem.reason  # the output named, never "cannot write None"
    after = files(root / "public")
    assert not [rel for rel in after if TMP_SUFFIX in rel or not after[rel]]
    for rel in before:
        if "post-2" in rel:
            assert after[rel] == before[rel]  # nothing of post-2 replaced
        else:
            assert after[rel] != before[rel]  # every other article rebuilt
    manifest = json.loads((root / "renditions.lock.json").read_text())["outputs"]
    for site_path, entry in manifest.items():
        if "post-2" in site_path:
            assert entry == manifest_before[site_path]
    r = subprocess.run(build_cmd(root), capture_output=True, text=True, env=env_for(root), timeout=60)
    assert r.returncode == 0 and "3 written" in r.stdout, r.stderr


@pytest.mark.skipif(not os.path.exists("/proc/self/fd"), reason="Linux only")
def test_failed_rename_leaves_complete_files_and_an_honest_manifest(tmp_path, monkeypatch):
    """A rename cannot be made all-or-nothing across files; what is promised: every file is
    complete (old or new), no temporary file stays, the manifest records none of the new ones,
    and the next build repairs the article."""
    monkeypatch.setenv("RENDITIONS_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "site"
    make_site(root, {s: 0 for s in SLUGS})
    assert pipeline.build(root, jobs=1).ok
    manifest_before = json.loads((root / "renditions.lock.json").read_text())["outputs"]
    set_master(root, "post-4", 1)
    monkeypatch.setattr(write_mod, "os", _ReplaceFails("post-4.webp"))
    report = pipeline.build(root, jobs=1)
    monkeypatch.undo()
    assert report.failed_articles == ("content/post-4.md",)
    after = files(root / "public")
    assert not [rel for rel in after if TMP_SUFFIX in rel or not after[rel]]
    manifest = json.loads((root / "renditions.lock.json").read_text())["outputs"]
    assert {k: v for k, v in manifest.items() if "post-4" in k} == {k: v for k, v in manifest_before.items() if "post-4" in k}
    r = subprocess.run(build_cmd(root), capture_output=True, text=True, env=env_for(root), timeout=60)
    assert r.returncode == 0 and "3 written" in r.stdout, r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "renditions", "check", "--root", str(root)],
        capture_output=True,
        text=True,
        env=env_for(root),
        timeout=60,
    )
    assert r.returncode == 0, r.stdout


def test_a_build_sweeps_only_temporary_files_named_as_its_own(tmp_path, monkeypatch):
    """A killed build's temporary file (`.name.<12 hex>.renditions-tmp`) is swept by the next
    build; a file that only ends in .renditions-tmp is someone else's and stays (a user's trial:
    any such name was deleted)."""
    monkeypatch.setenv("RENDITIONS_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "site"
    make_site(root, {s: 0 for s in SLUGS})
    assert pipeline.build(root, jobs=1).ok
    folder = root / "public" / "img" / "hero"
    ours = folder / f".post-0.webp.{'0a1b2c3d4e5f'}{TMP_SUFFIX}"
    theirs = [folder / f".handmade.png{TMP_SUFFIX}", folder / f"notes{TMP_SUFFIX}", folder / f".x.webp.XYZ123456789{TMP_SUFFIX}"]
    for p in [ours, *theirs]:
        p.write_bytes(b"half a file")
    set_master(root, "post-0", 1)
    assert pipeline.build(root, jobs=1).ok
    assert not ours.exists()
    assert [p.read_bytes() for p in theirs] == [b"half a file"] * 3
