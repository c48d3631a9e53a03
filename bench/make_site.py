"""Generate a benchmark site: one article per master, four variants each.

    python bench/make_site.py CORPUS_DIR SITE_DIR --ext png|webp|jpg|avif
    python bench/make_site.py --synthetic 2000 [CORPUS/mixed] SITE_DIR --size 1700x950

The variants are the example site's four (800x450, 640x360, 1600x900, 800x600, cover);
the variant paths' extension decides the output format. Masters are hard-linked from the
corpus when possible (same filesystem), copied otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

VARIANTS = (
    ("article", "image", "articles", 800, 450),
    ("mobile-article", "mobile", "mobile-articles", 640, 360),
    ("single", "singleImage", "single-articles", 1600, 900),
    ("mobile-single", "MobileSingleImage", "mobile-single-articles", 800, 600),
)
MASTER_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff")


def write_config(site: Path, ext: str, extra: str = "") -> None:
    lines = [
        'content: "content/**/*.md"',
        "sources: source_images",
        "public: public",
        "manifest: renditions.lock.json",
        "variants:",
    ]
    for name, key, folder, w, h in VARIANTS:
        lines.append(f'  {name}: {{key: {key}, path: "/img/artical/{folder}/{{slug}}.{ext}", width: {w}, height: {h}}}')
    (site / "config").mkdir(parents=True, exist_ok=True)
    (site / "config" / "renditions.yaml").write_text("\n".join(lines) + "\n" + extra)


def write_article(site: Path, slug: str, ext: str) -> None:
    fm = ["---", f'title: "{slug}"']
    fm += [f'{key}: "/img/artical/{folder}/{slug}.{ext}"' for _, key, folder, _, _ in VARIANTS]
    fm += ["---", "", f"Benchmark article {slug}.", ""]
    (site / "content" / f"{slug}.md").write_text("\n".join(fm))


def link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def from_corpus(corpus: Path, site: Path, ext: str) -> int:
    shutil.rmtree(site, ignore_errors=True)
    (site / "content").mkdir(parents=True, exist_ok=True)
    (site / "source_images").mkdir(parents=True, exist_ok=True)
    write_config(site, ext)
    n = 0
    for master in sorted(corpus.iterdir()):
        if master.suffix.lower() not in MASTER_EXTS:
            continue
        link(master, site / "source_images" / master.name)
        write_article(site, master.stem, ext)
        n += 1
    return n


def synthetic(count: int, site: Path, ext: str, size: tuple[int, int], distinct: int = 50, photos: Path | None = None) -> int:
    """`count` articles, each with its own small JPEG master: the corpus' photos cut to `size`
    (or generated textures without a corpus), with a few unique trailing bytes each."""
    import pyvips  # bench-only: the package's engines are the only runtime importers

    shutil.rmtree(site, ignore_errors=True)
    (site / "content").mkdir(parents=True, exist_ok=True)
    src = site / "source_images"
    src.mkdir(parents=True, exist_ok=True)
    write_config(site, ext)
    w, h = size
    seeds = []
    for p in sorted(photos.iterdir()) if photos else ():
        if p.suffix.lower() in MASTER_EXTS:
            img = pyvips.Image.thumbnail(str(p), w, height=h, crop="centre", size="force")
            img = img.flatten(background=[255, 255, 255]) if img.hasalpha() else img
            seeds.append(img.colourspace("srgb").jpegsave_buffer(Q=85))
    for i in range(0 if seeds else distinct):
        noise = pyvips.Image.gaussnoise((w + 7) // 8, (h + 7) // 8, sigma=40, mean=128 + (i % 7) * 8)
        img = noise.bandjoin([noise.rot180(), noise.flip("horizontal")])
        img = img.resize(8, kernel="cubic").cast("uchar").crop(0, 0, w, h).copy(interpretation="srgb")
        seeds.append(img.jpegsave_buffer(Q=85))
    for i in range(count):
        slug = f"article-{i:05d}"
        data = seeds[i % len(seeds)] + i.to_bytes(4, "big")  # trailing bytes: unique content hash per article
        (src / f"{slug}.jpg").write_bytes(data)
        write_article(site, slug, ext)
    return count


def typical(photos: Path, out: Path, jpegs: int = 180, pngs: int = 60) -> int:
    """The masters blogs really have, cut reproducibly from the corpus photos: `jpegs` camera-like
    2400×1600 JPEGs (quality 90, with an embedded sRGB profile, as cameras and photo editors
    export them) and `pngs` screenshot-like 2400×1350 PNGs (untagged). Each photo gives several
    masters, each from its own zoom and offset, so no two masters share their pixels."""
    import pyvips  # bench-only

    stamp = out / f".typical-v2-{jpegs}-{pngs}"
    if stamp.exists():
        return jpegs + pngs
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sources = [p for p in sorted(photos.iterdir()) if p.suffix.lower() in MASTER_EXTS]
    for i in range(jpegs + pngs):
        src = sources[i % len(sources)]
        k = i // len(sources)  # which cut of this photo
        w, h = (2400, 1600) if i < jpegs else (2400, 1350)
        img = pyvips.Image.new_from_file(str(src))
        img = img.flatten(background=[255, 255, 255]) if img.hasalpha() else img
        img = img.colourspace("srgb")
        zoom = max(w / img.width, h / img.height) * (1 + 0.12 * k)  # each cut a little closer in
        img = img.resize(zoom, kernel="lanczos3")
        left = (img.width - w) * ((k * 37) % 100) // 100
        top = (img.height - h) * ((k * 61) % 100) // 100
        img = img.crop(left, top, w, h)
        if k % 2:
            img = img.fliphor()
        if i < jpegs:
            img = img.icc_transform("srgb", input_profile="srgb", embedded=False)  # attaches libvips' sRGB profile
            img.jpegsave(str(out / f"typical-{i:03d}.jpg"), Q=90, keep="icc")
        else:
            img.pngsave(str(out / f"typical-{i:03d}.png"), compression=6, keep="none")
    stamp.touch()
    return jpegs + pngs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="?", help="folder of masters (one article each)")
    ap.add_argument("site")
    ap.add_argument("--ext", default="png")
    ap.add_argument("--synthetic", type=int, default=0, help="generate N articles with small JPEG masters instead")
    ap.add_argument("--size", default="1700x950")
    a = ap.parse_args()
    site = Path(a.site)
    if site.exists():
        shutil.rmtree(site)
    if a.synthetic:
        n = synthetic(
            a.synthetic, site, a.ext, tuple(int(x) for x in a.size.split("x")), photos=Path(a.corpus) if a.corpus else None
        )
    else:
        n = from_corpus(Path(a.corpus), site, a.ext)
    print(f"{site}: {n} articles, {len(VARIANTS)} .{a.ext} variants each")


if __name__ == "__main__":
    main()
