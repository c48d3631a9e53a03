"""Measure encoder settings on real variant pixels: bytes versus CPU (PNG, lossless) and
bytes versus SSIM (WebP, AVIF). The numbers behind config.ENCODER_DEFAULTS.

    python bench/encoders.py CORPUS/mixed [--every 4]

Variant pixels are cut by renditions' own engine (decode once, four cover crops), held in
memory, then encoded with each setting on one thread. SSIM: the usual 11-tap Gaussian
(sigma 1.5) on luma, computed with libvips (no numpy needed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pyvips  # bench-only

from renditions.engine_vips import VipsEngine
from renditions.geometry import decode_scale, plan_geometry

SIZES = ((800, 450), (640, 360), (1600, 900), (800, 600))
C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def variants(corpus: Path, every: int) -> list[pyvips.Image]:
    eng = VipsEngine(threads=1)
    out = []
    masters = [p for p in sorted(corpus.iterdir()) if p.suffix.lower() in (".jpg", ".png", ".webp")]
    for master in masters[::every]:
        probe = eng.probe(str(master))
        dims = (probe.width, probe.height)
        geos = [plan_geometry("cover", dims, s) for s in SIZES]
        img = eng.load(str(master), probe, decode_scale(geos))
        for g in geos:
            px = eng.cut(img, g, dims, "centre", (255, 255, 255))
            if px.hasalpha():
                px = px.flatten(background=[255, 255, 255]).cast("uchar")
            if px.bands < 3:
                px = px.colourspace("srgb")
            out.append(px.copy_memory())
    return out


def luma(im: pyvips.Image) -> pyvips.Image:
    im = im[0:3] if im.bands > 3 else im
    return (im[0] * 0.299 + im[1] * 0.587 + im[2] * 0.114).cast("float")


def ssim(a: pyvips.Image, b: pyvips.Image) -> float:
    x, y = luma(a), luma(b)
    blur = lambda im: im.gaussblur(1.5, precision="float", min_ampl=0.01)  # noqa: E731
    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    m = ((mx * my * 2 + C1) * (sxy * 2 + C2)) / ((mx * mx + my * my + C1) * (sxx + syy + C2))
    return m.avg()


def timed(fn):
    t0 = time.process_time()
    data = fn()
    return data, time.process_time() - t0


def png_grid(pixels: list[pyvips.Image]) -> None:
    print("\nPNG (lossless): total bytes and encode CPU over", len(pixels), "variants")
    print("| compression | filter | bytes | vs sharp default (6, none) | CPU s | vs sharp default |")
    print("| --- | --- | --- | --- | --- | --- |")
    rows = {}
    for level in range(1, 10):
        for flt in ("none", "all"):
            size = cpu = 0.0
            for px in pixels:
                data, t = timed(lambda: px.pngsave_buffer(compression=level, filter=flt, keep="none"))
                size += len(data)
                cpu += t
            rows[(level, flt)] = (size, cpu)
    base = rows[(6, "none")]
    for (level, flt), (size, cpu) in rows.items():
        print(f"| {level} | {flt} | {size / 1e6:.1f} MB | {size / base[0]:.2f} | {cpu:.2f} | {cpu / base[1]:.2f} |")


def lossy_grid(pixels, name: str, settings, save) -> None:
    print(f"\n{name}: total bytes, mean SSIM (luma) and encode CPU over", len(pixels), "variants")
    print("| quality | effort | bytes | mean SSIM | min SSIM | CPU s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for q, effort in settings:
        size = cpu = 0.0
        scores = []
        for px in pixels:
            data, t = timed(lambda: save(px, q, effort))
            size += len(data)
            cpu += t
            scores.append(ssim(px, pyvips.Image.new_from_buffer(data, "")))
        print(f"| {q} | {effort} | {size / 1e6:.2f} MB | {sum(scores) / len(scores):.4f} | {min(scores):.4f} | {cpu:.2f} |")
        sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--every", type=int, default=4, help="use every Nth master (default 4: 10 of 40)")
    ap.add_argument("--only", choices=("png", "webp", "avif"), action="append")
    a = ap.parse_args()
    pyvips.cache_set_max(0)
    pixels = variants(a.corpus, a.every)
    todo = a.only or ["png", "webp", "avif"]
    if "png" in todo:
        png_grid(pixels)
    if "webp" in todo:
        grid = [(q, 4) for q in (60, 70, 75, 80, 85, 90)] + [(80, e) for e in (2, 3, 5, 6)] + [(75, 6)]
        lossy_grid(pixels, "WebP", grid, lambda px, q, e: px.webpsave_buffer(Q=q, effort=e, keep="none"))
    if "avif" in todo:
        grid = [(q, 2) for q in (40, 50, 55, 60, 65)] + [(55, e) for e in (0, 1, 3, 4)]
        lossy_grid(pixels, "AVIF", grid, lambda px, q, e: px.heifsave_buffer(Q=q, effort=e, compression="av1", keep="none"))


if __name__ == "__main__":
    main()
