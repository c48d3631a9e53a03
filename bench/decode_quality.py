"""How far a change to decoding moved pixels: SSIM of every output of a site built by the new code
against the same site built by the old one, and of each against a full-resolution reference (the
master decoded at full size, then cropped and Lanczos-resized). Used for render.SHARED_DECODE_SIDE and render.load_scale.

    bench/decode_quality.py OLD_SITE NEW_SITE     # two builds of the same site (PNG outputs)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pyvips
from encoders import ssim

from renditions.engine_vips import VipsEngine
from renditions.render import variant_geometry
from renditions.session import open_session


def rgb(im: pyvips.Image) -> pyvips.Image:
    im = im[0:3] if im.bands == 4 else im
    im = im[0] if im.bands == 2 else im
    return im.colourspace("srgb") if im.bands < 3 else im


def main(old: str, new: str) -> None:
    eng = VipsEngine(threads=2)
    s = open_session(new, use_cache=False)
    rows = []
    for o in s.plan().fresh:
        a = next(x for x in s.articles if x.rel == o.article)
        path = str(a.master)
        data = Path(path).read_bytes()
        probe = eng.probe(path, data)
        master = (probe.width, probe.height)
        full = eng.load(path, probe, 1.0, data)
        ref = eng.cut(full, variant_geometry(o.crop, master), master, o.crop.position, o.crop.background)
        rel = o.site_path.lstrip("/")
        was, now = rgb(pyvips.Image.new_from_file(f"{old}/public/{rel}")), rgb(pyvips.Image.new_from_file(f"{new}/public/{rel}"))
        rows.append((ssim(now, was), ssim(was, rgb(ref)), ssim(now, rgb(ref)), rel))
    rows.sort()
    n = len(rows)
    print(f"{n} outputs; SSIM new vs old: mean {sum(r[0] for r in rows) / n:.4f}, min {rows[0][0]:.4f} ({rows[0][3]})")
    print(
        f"SSIM vs the full-resolution reference: mean old {sum(r[1] for r in rows) / n:.4f}, new {sum(r[2] for r in rows) / n:.4f}"
    )
    closer = sum(1 for r in rows if r[2] > r[1] + 1e-6)
    farther = [r for r in rows if r[2] < r[1] - 1e-6]
    print(f"new closer to the reference: {closer}, equal: {n - closer - len(farther)}, farther: {len(farther)}")
    if farther:
        print(
            f"  farther by at most {max(r[1] - r[2] for r in farther):.5f}; their SSIM vs old ≥ {min(r[0] for r in farther):.4f}"
        )
    low = [r for r in rows if r[0] < 0.99]
    print(f"below 0.99 vs old: {len(low)}, of which closer to the reference: {sum(1 for r in low if r[2] > r[1])}")
    for r in low:
        print(f"  vs old {r[0]:.4f}  old vs ref {r[1]:.4f}  new vs ref {r[2]:.4f}  {r[3]}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
