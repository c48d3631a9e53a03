"""Hostile or broken input costs one article, never the site (issue 5).

Real `renditions build` processes on small generated sites: broken images, bad paths,
all-or-nothing per article, the site lock, a broken manifest, a PNG decompression bomb,
and the issue's "Done when" site that mixes all of them with good articles.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

SMALL_CONFIG = """\
content: "content/**/*.md"
sources: source_images
public: public
manifest: renditions.lock.json
variants:
  card:   {key: image,             path: "/img/card/{slug}.png",   width: 200, height: 120}
  mobile: {key: mobile,            path: "/img/mobile/{slug}.jpg", width: 160, height: 160}
  hero:   {key: singleImage,       path: "/img/hero/{slug}.webp",  width: 300, height: 200}
  square: {key: MobileSingleImage, path: "/img/square/{slug}.png", width: 100, height: 100}
"""
KEYS = {
    "image": "/img/card/{slug}.png",
    "mobile": "/img/mobile/{slug}.jpg",
    "singleImage": "/img/hero/{slug}.webp",
    "MobileSingleImage": "/img/square/{slug}.png",
}
SIZES = {"image": (200, 120), "mobile": (160, 160), "singleImage": (300, 200), "MobileSingleImage": (100, 100)}


class Site:
    def __init__(self, root: Path, config: str = SMALL_CONFIG):
        self.root = root
        for d in ("config", "content", "source_images"):
            (root / d).mkdir(parents=True, exist_ok=True)
        (root / "config" / "renditions.yaml").write_text(config)
        self.public = root / "public"
        self.sources = root / "source_images"

    def article(self, slug: str, keys: dict | None = None, raw: bytes | None = None) -> Path:
        path = self.root / "content" / f"{slug}.md"
        if raw is None:
            keys = KEYS if keys is None else keys
            lines = ["---", f"title: {slug}"] + [f'{k}: "{v.format(slug=slug)}"' for k, v in keys.items()] + ["---", "body"]
            raw = ("\n".join(lines) + "\n").encode()
        path.write_bytes(raw)
        return path

    def master(self, slug: str, data: bytes | None = None, ext: str = "png", size=(400, 300)) -> Path:
        path = self.sources / f"{slug}.{ext}"
        path.write_bytes(image_bytes(size, "PNG" if ext == "png" else "JPEG", seed=len(slug)) if data is None else data)
        return path

    def out(self, key: str, slug: str) -> Path:
        return self.public / KEYS[key].format(slug=slug).lstrip("/")

    def build(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return run_cli(self.root, "build", *args, timeout=timeout)


def run_cli(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, RENDITIONS_CACHE_DIR=str(root.parent / "cache"))
    return subprocess.run(
        [sys.executable, "-m", "renditions", *args, "--root", str(root)], capture_output=True, text=True, env=env, timeout=timeout
    )


def image_bytes(size=(400, 300), fmt="PNG", seed=0) -> bytes:
    """A deterministic, detailed image (so that corruption is noticed by the decoder)."""
    _w, _h = size
    im = Image.linear_gradient("L").resize(size)
    im = Image.merge("RGB", (im, im.rotate(90).resize(size), Image.effect_noise(size, 40 + seed).convert("L")))
    buf = io.BytesIO()
    im.save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def png_bomb(width=30000, height=30000, bands=1) -> bytes:
    """A valid greyscale (or RGB, `bands=3`) PNG of width×height black pixels, a few MB compressed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    # deflate 1000 rows once, ending in a full flush, so the block can simply be repeated
    rows = (b"\x00" * (width * bands + 1)) * 1000
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = co.compress(rows) + co.flush(zlib.Z_FULL_FLUSH)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    final = co.compress(rows) + co.flush(zlib.Z_FINISH)
    adler = 1
    for _ in range(height // 1000):
        adler = zlib.adler32(rows, adler)
    idat = b"\x78\xda" + block * (height // 1000 - 1) + final + struct.pack(">I", adler)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, {1: 0, 3: 2}[bands], 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under folder (relative path → sha256), symlinks not followed."""
    out = {}
    for dirpath, _, files in os.walk(folder):
        for name in files:
            p = Path(dirpath) / name
            if not p.is_symlink():
                out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def debris(public: Path) -> list[str]:
    """Temporary, partial or empty files a build must never leave in the web root."""
    bad = []
    for dirpath, _, files in os.walk(public):
        for name in files:
            p = Path(dirpath) / name
            if "tmp" in name or "partial" in name or name.startswith(".") or p.stat().st_size == 0:
                bad.append(str(p.relative_to(public)))
    return bad


def error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("error:")]


@pytest.fixture
def small(tmp_path) -> Site:
    return Site(tmp_path / "site")


# -- images --------------------------------------------------------------------------------------

GOOD_PNG = image_bytes()
GOOD_JPG = image_bytes(fmt="JPEG")
GOOD_AVIF = image_bytes((1920, 1080), fmt="AVIF")


def corrupt_png_crc(data: bytes) -> bytes:
    i = data.index(b"IDAT") + 40
    return data[:i] + bytes(b ^ 0xFF for b in data[i : i + 64]) + data[i + 64 :]


BAD_IMAGES = {
    # slug: (file name in source_images, bytes or None for a folder, words of the error)
    "truncated-png": ("truncated-png.png", GOOD_PNG[: len(GOOD_PNG) // 2], ("truncated", "read error", "decode")),
    "truncated-jpg": ("truncated-jpg.jpg", GOOD_JPG[: len(GOOD_JPG) // 2], ("truncated", "premature end", "decode")),
    # libheif ends its message with a line holding only its code, "(2.100)": the reason is the line before
    "cut-avif": ("cut-avif.avif", GOOD_AVIF[: len(GOOD_AVIF) // 2], ("end of file", "truncated")),
    "corrupt-png": ("corrupt-png.png", corrupt_png_crc(GOOD_PNG), ("decode", "crc", "broken", "error")),
    "empty-file": ("empty-file.png", b"", ("empty file",)),
    "a-folder": ("a-folder.png", None, ("is a folder",)),
    "text-file": ("text-file.png", b"I am not an image, just text.\n" * 20, ("not a supported image",)),
    # TIFF's signature, then an IFD offset past the end: a supported format, corrupt (not "not supported ... found TIFF")
    "corrupt-tiff": ("corrupt-tiff.tif", b"II*\x00\xff\xff\xff\x00" + bytes(60), ("the TIFF content is corrupt",)),
    "bomb": ("bomb.png", "BOMB", ("30000×30000", "max_pixels", "too many pixels")),
}


@pytest.fixture(scope="module")
def bomb_bytes() -> bytes:
    data = png_bomb()
    assert len(data) < 1_000_000
    return data


@pytest.mark.parametrize("engine", ["vips", "pillow"])
def _add_bad_masters(site, bomb_bytes):
    """One article per BAD_IMAGES entry, its master written as the entry says."""
    for slug, (name, data, _) in BAD_IMAGES.items():
        site.article(slug)
        if data is None:
            (site.sources / name).mkdir()
        else:
            (site.sources / name).write_bytes(bomb_bytes if data == "BOMB" else data)


def test_broken_images_cost_only_their_article(tmp_path, engine, bomb_bytes):
    site = Site(tmp_path / "site")
    site.article("good")
    site.master("good")
    site.article("wrong-ext")  # PNG content named .jpg: judged by content, rendered fine
    site.master("wrong-ext", GOOD_PNG, ext="jpg")
    _add_bad_masters(site, bomb_bytes)
    r = site.build("--engine", engine, "-j", "2")
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    lines = error_lines(r.stderr)
    assert len(lines) == len(BAD_IMAGES), r.stderr
    for slug, (_, _, words) in BAD_IMAGES.items():
        [line] = [ln for ln in lines if f"content/{slug}.md" in ln]
        assert any(w.lower() in line.lower() for w in words), line
        for key in KEYS:
            assert not site.out(key, slug).exists()
    for slug in ("good", "wrong-ext"):
        for key, size in SIZES.items():
            with Image.open(site.out(key, slug)) as im:
                assert im.size == size
    assert f"8 written, 0 up to date, {len(BAD_IMAGES)} failed" in r.stdout
    assert debris(site.public) == []


def test_max_bytes_is_checked_before_decoding(small):
    text = (small.root / "config" / "renditions.yaml").read_text()
    (small.root / "config" / "renditions.yaml").write_text(text + "max_bytes: 1000\n")
    small.article("big")
    small.master("big")
    r = small.build()
    assert r.returncode == 1
    [line] = error_lines(r.stderr)
    assert "over the max_bytes limit of 1000" in line and "source_images/big.png" in line


def test_max_pixels_is_configurable(small):
    text = (small.root / "config" / "renditions.yaml").read_text()
    (small.root / "config" / "renditions.yaml").write_text(text + "max_pixels: 100000\n")
    small.article("big")
    small.master("big")  # 400×300 = 120000 pixels
    small.article("fits")
    small.master("fits", size=(300, 300))
    r = small.build()
    assert r.returncode == 1
    [line] = error_lines(r.stderr)
    assert "content/big.md" in line and "400×300" in line and "max_pixels limit of 0.1 megapixels" in line
    assert small.out("image", "fits").exists() and not small.out("image", "big").exists()


# -- the PNG bomb and memory ----------------------------------------------------------------------


def peak_rss_mb(root: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    """Run a build in a fresh wrapper process and read its children's peak RSS (build + workers)."""
    code = (
        "import resource, subprocess, sys, json\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "print(json.dumps([resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode, r.stdout, r.stderr]))\n"
    )
    env = dict(os.environ, RENDITIONS_CACHE_DIR=str(root.parent / "cache"))
    out = subprocess.run(
        [sys.executable, "-c", code, sys.executable, "-m", "renditions", "build", "--root", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    kb, rc, stdout, stderr = json.loads(out.stdout)
    return kb / 1024, subprocess.CompletedProcess(args, rc, stdout, stderr)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["vips", "pillow"])
def test_png_bomb_is_refused_from_its_header_in_bounded_memory(tmp_path, engine, bomb_bytes):
    site = Site(tmp_path / "site")
    for slug in ("one", "two", "three"):
        site.article(slug)
        site.master(slug)
    site.article("bomb")
    site.master("bomb", bomb_bytes)
    mb, r = peak_rss_mb(site.root, "--engine", engine, "-j", "2")
    assert r.returncode == 1
    [line] = error_lines(r.stderr)
    assert "content/bomb.md" in line and ("30000×30000" in line or "900000000 pixels" in line)
    assert "12 written" in r.stdout
    assert mb < 1024, f"peak RSS {mb:.0f} MB"
    print(f"\n{engine}: build with the bomb among the masters peaked at {mb:.0f} MB")


@pytest.mark.slow
def test_png_bomb_allowed_by_config_still_streams(tmp_path, bomb_bytes):
    """With max_pixels (and max_decoded_bytes) raised above 900 MP, libvips shrinks while it streams: report the peak."""
    site = Site(tmp_path / "site", SMALL_CONFIG + "max_pixels: 1000000000\nmax_decoded_bytes: 1000000000\n")
    site.article("bomb")
    site.master("bomb", bomb_bytes)
    mb, r = peak_rss_mb(site.root, "--engine", "vips")
    print(f"\nvips: rendering the 900 MP bomb (allowed by config) peaked at {mb:.0f} MB, exit {r.returncode}")
    assert "Traceback" not in r.stderr
    if r.returncode == 0:
        with Image.open(site.out("image", "bomb")) as im:
            assert im.size == (200, 120)


# -- all or nothing per article --------------------------------------------------------------------


def old_outputs(site: Site, slug: str) -> dict[Path, bytes]:
    olds = {}
    for key in KEYS:
        p = site.out(key, slug)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"old bytes of " + key.encode())
        olds[p] = p.read_bytes()
    return olds


@pytest.mark.parametrize(
    "bad_path, words",
    [
        ("/img/../../../tmp/x.png", "'..'"),
        ("/img/escape/x.png", "outside the web root"),
        ("https://cdn.example.com/x.png", "URL"),
        ("/img/card/x.gif", "no image extension"),
        ("/source_images/x.png", None),  # control: public/source_images/ is not the masters' folder
    ],
)
def test_three_good_paths_and_one_bad_write_nothing(tmp_path, bad_path, words):
    outside = tmp_path / "outside"
    outside.mkdir()
    site = Site(tmp_path / "site")
    (site.public / "img").mkdir(parents=True)
    os.symlink(outside, site.public / "img" / "escape")
    keys = dict(KEYS, MobileSingleImage=bad_path)
    site.article("mixed", keys)
    site.master("mixed")
    site.article("fine")
    site.master("fine")
    olds = old_outputs(site, "mixed")
    before_outside = snapshot(outside)
    r = site.build()
    if words is None:  # control: a valid path, but files renditions did not write are in the way
        assert r.returncode == 1, r.stderr
        assert "which renditions did not write: move it away, then build again" in r.stderr
        for p, data in olds.items():
            assert p.read_bytes() == data  # never replaced (issue 13)
        assert site.out("image", "fine").exists()
        return
    assert r.returncode == 1, r.stderr
    [line] = error_lines(r.stderr)
    assert line.startswith("error: content/mixed.md:6: MobileSingleImage: ") and words in line
    for p, data in olds.items():
        assert p.read_bytes() == data  # neither written nor replaced
    assert snapshot(outside) == before_outside
    assert not Path("/tmp/x.png").exists() or Path("/tmp/x.png").stat().st_mtime < time.time() - 60
    assert site.out("image", "fine").exists()
    manifest = json.loads((site.root / "renditions.lock.json").read_text())
    assert not any("mixed" in k for k in manifest["outputs"])


def test_render_failure_of_one_variant_writes_none(small):
    """The master is big enough for three variants but too small for the fourth (no upscale)."""
    small.article("narrow", dict(KEYS, MobileSingleImage="/img/square/narrow.png"))
    small.master("narrow", size=(320, 90))  # too small for 160×160 (mobile) and 300×200 (hero)
    olds = old_outputs(small, "narrow")
    r = small.build()
    assert r.returncode == 1
    [line] = error_lines(r.stderr)
    assert "smaller than" in line
    for p, data in olds.items():
        assert p.read_bytes() == data


def test_prune_never_deletes_through_a_folder_swapped_for_a_link(tmp_path):
    """A folder renditions wrote into is later replaced by a symlink to outside: prune must not
    follow it to delete the outside file that happens to have a recorded name."""
    site = Site(tmp_path / "site")
    for slug in ("gone", "keeper"):  # keeper keeps /img/moved among the folders prune looks in
        site.article(slug, dict(KEYS, image=f"/img/moved/{slug}.png"))
        site.master(slug)
    assert site.build().returncode == 0
    (site.root / "content" / "gone.md").unlink()  # its outputs are orphans now
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "gone.png").write_bytes(b"not renditions' file")
    for f in (site.public / "img" / "moved").iterdir():
        f.unlink()
    (site.public / "img" / "moved").rmdir()
    os.symlink(outside, site.public / "img" / "moved")
    r = run_cli(site.root, "prune")
    assert r.returncode == 0, r.stderr
    assert "deleted /img/mobile/gone.jpg" in r.stdout and "/img/moved/gone.png" not in r.stdout
    assert (outside / "gone.png").read_bytes() == b"not renditions' file"
    assert not site.out("mobile", "gone").exists()  # the real orphans inside the root were pruned


# -- two builds at once ---------------------------------------------------------------------------

HOLD_LOCK = """
import sys, time
from pathlib import Path
from renditions.lock import site_lock
with site_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def _waits_for_the_lock(holder: subprocess.Popen, command: list[str], env: dict) -> str:
    """Run `command` while `holder` holds the site's lock: it must wait, then succeed once the
    lock is let go. Its stdout."""
    waiter = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(1.5)
    assert waiter.poll() is None  # still waiting for the lock
    holder.stdin.write("\n")
    holder.stdin.flush()
    out, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, err
    return out


def test_second_build_is_refused_while_one_holds_the_lock(small):
    small.article("a")
    small.master("a")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(small.root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        r = small.build()
        assert r.returncode == 2
        assert r.stderr.strip() == (
            "error: .renditions.lock: another renditions build is running on this site; wait for it to finish (or pass --wait)"
        )
        assert not small.public.exists()
        env = dict(os.environ, RENDITIONS_CACHE_DIR=str(small.root.parent / "cache"))
        out = _waits_for_the_lock(holder, [sys.executable, "-m", "renditions", "build", "--wait", "--root", str(small.root)], env)
        assert "4 written" in out
    finally:
        holder.kill()
        holder.wait()


def test_prune_waits_for_a_build_when_asked_as_its_error_says(small):
    """prune's lock error says to pass --wait, which prune had no option for (exit 2 twice)."""
    small.article("a")
    small.master("a")
    assert small.build().returncode == 0
    (small.root / "content/a.md").unlink()  # its outputs are now orphans
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(small.root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    env = dict(os.environ, RENDITIONS_CACHE_DIR=str(small.root.parent / "cache"))
    small.article("b")  # prune refuses when content matches nothing
    small.master("b")
    try:
        assert holder.stdout.readline().strip() == "locked"
        prune = [sys.executable, "-m", "renditions", "prune", "--yes", "--root", str(small.root)]
        r = subprocess.run(prune, capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 2 and "(or pass --wait)" in r.stderr, r.stderr
        out = _waits_for_the_lock(holder, [*prune, "--wait"], env)
        assert "4 orphaned outputs deleted" in out
        assert not (small.public / "img/card/a.png").exists()
    finally:
        holder.kill()
        holder.wait()


def test_two_real_builds_at_once_one_wins_cleanly(tmp_path):
    site = Site(tmp_path / "site")
    for i in range(6):
        site.article(f"a{i}")
        site.master(f"a{i}")
    env = dict(os.environ, RENDITIONS_CACHE_DIR=str(tmp_path / "cache"))
    cmd = [sys.executable, "-m", "renditions", "build", "--root", str(site.root), "-j", "1"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    codes = sorted(rc for _, _, rc in results)
    assert codes in ([0, 0], [0, 2])  # the second either found the work done or was refused
    for _out, err, rc in results:
        if rc == 2:
            assert "another renditions build is running" in err
    assert run_cli(site.root, "check").returncode == 0
    assert debris(site.public) == []


# -- the manifest -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"format": "renditions-manifest", "version": 1, "outputs": {"/img/a', "not valid JSON (truncated or hand-edited?)"),
        ("", "not valid JSON"),
        ("\x00\x00\x00", "not valid JSON"),
        ("[1, 2]", "not a renditions manifest"),
        ('{"format": "renditions-manifest", "version": 99, "outputs": {}}', "version 99"),
        ('{"format": "renditions-manifest", "version": 1, "outputs": []}', "no `outputs` mapping"),
        (
            '{"format": "renditions-manifest", "version": 1, "outputs": {"/img/x.png": {"hash": 1}}}',
            'entry for "/img/x.png" has no `article`',
        ),
        (
            '{"format": "renditions-manifest", "version": 1, "outputs": {"/img/x.png": 7}}',
            'entry for "/img/x.png" is 7, not a mapping',
        ),
    ],
)
def test_broken_manifest_is_reported_with_the_fix(small, text, words):
    small.article("a")
    small.master("a")
    (small.root / "renditions.lock.json").write_bytes(text.encode("utf-8", "surrogatepass"))
    for command in ("build", "check"):
        r = run_cli(small.root, command)
        assert r.returncode == 2, (command, r.stderr)
        assert "Traceback" not in r.stderr
        [line] = r.stderr.strip().splitlines()
        assert line.startswith("error: renditions.lock.json: ") and words in line
        assert "delete renditions.lock.json and run `renditions build`" in line
    assert not small.public.exists()


# -- the "Done when" site -------------------------------------------------------------------

FRONT_MATTER_CASES = {
    "fm-missing": b"# no front matter\n",
    "fm-empty-file": b"",
    "fm-list": b"---\n- a\n- b\n---\n",
    "fm-unterminated": b"---\ntitle: x\nimage: /img/x.png\n",
    "fm-latin1": b"---\ntitle: Ren\xe9e\n---\n",
    "fm-duplicate": b"---\nimage: /img/card/a.png\nimage: /img/card/b.png\n---\n",
    "fm-tag": b"---\nimage: !!python/object/apply:os.system ['touch /tmp/pwned']\n---\n",
    "fm-alias-bomb": b"---\na: &a [x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n---\n",
    "fm-list-path": b"---\nimage: [/img/card/a.png, /img/card/b.png]\n---\n",
    "fm-huge": b"---\ntitle: " + b"x" * 100_000 + b"\n---\n",
    "fm-deep": b"---\na: " + b"[" * 10_000 + b"\n---\n",
}
GOOD_VARIANTS = {  # BOM and CRLF simply work
    "fm-bom": b"\xef\xbb\xbf---\nslug: fm-bom\n---\n",
    "fm-crlf": b"---\r\nslug: fm-crlf\r\n---\r\nbody\r\n",
    "fm-toml": b"+++\ntitle = 'x'\n+++\n",  # Hugo's default front matter (issue 15)
    "fm-empty": b"---\n---\nbody\n",  # Jekyll's page with no variables: the config's paths
}


@pytest.mark.slow
def test_done_when_site(tmp_path, bomb_bytes):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.png").write_bytes(b"untouched")
    site = Site(tmp_path / "site")
    (site.public / "img").mkdir(parents=True)
    os.symlink(outside, site.public / "img" / "linked")

    good = ["good-a", "good-b", "good-c", *GOOD_VARIANTS]
    for slug in ("good-a", "good-b", "good-c"):
        site.article(slug)
        site.master(slug)
    for slug, raw in GOOD_VARIANTS.items():
        site.article(slug, raw=raw)
        site.master(slug)
    bad: dict[str, str] = {}
    for slug, raw in FRONT_MATTER_CASES.items():
        site.article(slug, raw=raw)
        site.master(slug)
        bad[slug] = ""
    _add_bad_masters(site, bomb_bytes)
    bad.update(dict.fromkeys(BAD_IMAGES, ""))
    site.article("dotdot", dict(KEYS, MobileSingleImage="/img/../../../tmp/x.png"))
    site.master("dotdot")
    site.article("symlinked", dict(KEYS, singleImage="/img/linked/symlinked.webp"))
    site.master("symlinked")
    bad["dotdot"] = bad["symlinked"] = ""
    olds = old_outputs(site, "dotdot") | old_outputs(site, "symlinked")
    before_outside = snapshot(outside)
    before_tmp = set(os.listdir("/tmp"))

    r = site.build("-j", "2")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    lines = error_lines(r.stderr)
    assert len(lines) == len(bad), "\n".join(lines)
    for slug in bad:
        mine = [ln for ln in lines if ln.startswith(f"error: content/{slug}.md")]
        assert len(mine) == 1, (slug, lines)
        assert len(mine[0]) < 300
    for slug in good:
        for key, size in SIZES.items():
            with Image.open(site.out(key, slug)) as im:
                assert im.size == size
    for p, data in olds.items():
        assert p.read_bytes() == data
    written = {p for p in snapshot(site.public)}
    expected = {str(site.out(k, s).relative_to(site.public)) for s in good for k in KEYS}
    expected |= {str(p.relative_to(site.public)) for p in olds}
    assert written == expected
    assert snapshot(outside) == before_outside
    assert not {"x.png", "pwned"} & (set(os.listdir("/tmp")) - before_tmp)
    assert debris(site.public) == []
    assert f"{len(good) * 4} written, 0 up to date, {len(bad)} failed" in r.stdout
