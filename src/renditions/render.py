"""Per master: check limits from the header, decode once, derive every stale variant.

All of an article's outputs are encoded in memory before any is written, so an article
either gets every stale output or none (all or nothing per article).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .engine import Engine, Placeholder, Probe
from .errors import RenderError
from .formats import BY_NAME, EMPTY_MASTER, listed
from .geometry import GRAVITY, Geometry, TooSmall, decode_scale, plan_geometry, scale_for, shared_scale, step_up
from .hashing import digest_bytes, git_blob_id
from .plan import Crop, Job, Output

#: The long side, in pixels, a master's shared decode keeps at least: every variant up to 1600 px
#: wide (a full-width image on a laptop, with geometry.DECODE_MARGIN's headroom) is cut from it,
#: so most masters are decoded once. A variant that needs more pixels gets a decode of its own;
#: none is cut from fewer pixels than it needs (BENCHMARKS.md measures the choice).
SHARED_DECODE_SIDE = 2400


@dataclass(frozen=True)
class Limits:
    """The config's guards against hostile masters: all render needs from the config."""

    max_bytes: int
    max_pixels: int
    max_decoded_bytes: int = 512 * 1024 * 1024


@dataclass(frozen=True)
class Rendered:
    output: Output
    data: bytes
    width: int
    height: int
    placeholder: Placeholder
    master_git: str = ""  # git's blob id of the master's bytes it was cut from (manifest.Entry)


@dataclass(frozen=True)
class RenderResult:
    job: Job
    rendered: tuple[Rendered, ...]
    notes: tuple[str, ...]


def check_master_file(path: str, max_bytes: int) -> None:
    """Cheap checks before any decoder sees the file."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise RenderError(path, f"cannot read the master: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise RenderError(path, "the master is a folder, not an image")
    if not stat.S_ISREG(st.st_mode):
        raise RenderError(path, "the master is not a regular file")
    if st.st_size == 0:
        raise RenderError(path, EMPTY_MASTER)
    if st.st_size > max_bytes:
        raise RenderError(path, f"the master is {st.st_size} bytes, over the max_bytes limit of {max_bytes}")


def check_decoded_bytes(probe: Probe, limit: int, shown: str) -> None:
    """Pixels alone undercount: a 16-bit RGBA master holds 8 bytes a pixel, all in memory when
    it is interlaced. Checked from the header, before anything is decoded."""
    if probe.decoded_bytes > limit:
        raise RenderError(
            shown,
            f"master is {probe.width}×{probe.height} with {probe.bands} bands of {8 * probe.sample_bytes} bits: "
            f"{probe.decoded_bytes / 2**20:.0f} MB decoded, over the max_decoded_bytes limit of {limit / 2**20:g} MB",
        )


def read_master(path: str, planned: str) -> bytes:
    """The master's bytes, read once: what is hashed is what is decoded. Raises RenderError when
    they are not the bytes the plan hashed (the file changed since), so the manifest never
    records outputs cut from another picture than the hash it names."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise RenderError(path, f"cannot read the master: {exc.strerror}") from None
    if digest_bytes(data) != planned:
        raise RenderError(path, "changed while it was being rendered: nothing of this article was written; run build again")
    return data


def render_job(job: Job, limits: Limits, engine: Engine) -> RenderResult:
    """Raises RenderError naming the master and the reason; never anything else.

    Everything an output needs was resolved by the plan (job.outputs[i].crop, .options)."""
    return _render_article(job, limits, engine, {})


def render_jobs(jobs: Sequence[Job], limits: Limits, engine: Engine) -> Iterator[RenderResult | RenderError]:
    """Articles that share one master, in order, each a result or the error that failed it.

    The master is decoded once per decode scale, not once per article: each article still gets
    the scale it would get alone, so sharing a decode changes no byte of any output."""
    decoded: dict = {}  # the last decode: {"key": (master hash, scale), "img": loaded}
    for job in jobs:
        try:
            yield _render_article(job, limits, engine, decoded)
        except RenderError as exc:
            yield exc


def _render_article(job: Job, limits: Limits, engine: Engine, decoded: dict) -> RenderResult:
    results = []
    for group in by_master(job):  # art direction: each master is read once, for its own variants
        results.append(_render_guarded(group, limits, engine, decoded))
    return RenderResult(job, tuple(r for res in results for r in res.rendered), tuple(n for res in results for n in res.notes))


def by_master(job: Job) -> list[Job]:
    """The job split by master: the article's, then each variant's own (`masters:`)."""
    groups: dict = {}
    for o in job.outputs:
        groups.setdefault(o.master, []).append(o)
    out = []
    for master, outputs in groups.items():
        if master is None:
            out.append(replace(job, outputs=tuple(outputs)))
        else:
            o = outputs[0]
            out.append(replace(job, master=master, master_hash=o.master_hash, shown=o.master_shown, outputs=tuple(outputs)))
    return out


def _render_guarded(job: Job, limits: Limits, engine: Engine, decoded: dict) -> RenderResult:
    shown = job.shown
    try:
        return _render(job, limits, engine, shown, decoded)
    except RenderError as exc:
        raise RenderError(shown, exc.reason) from None
    except MemoryError:
        raise RenderError(shown, "out of memory while decoding") from None
    except Exception as exc:  # a decoder bug must cost one article, not the run
        raise RenderError(shown, f"{type(exc).__name__}: {exc}") from None


def variant_geometry(crop: Crop, master: tuple[int, int]) -> Geometry:
    """A variant's crop of an upright master; raises TooSmall. Shared by render, status and preview."""
    return plan_geometry(
        crop.fit, master, (crop.width, crop.height), GRAVITY.get(crop.position, (0.5, 0.5)), crop.focus, crop.upscale
    )


def too_small(outputs: Iterable[Output], master: tuple[int, int]) -> str | None:
    """Why the master (its upright size) can't serve these outputs without enlarging them: the
    reason build fails the article with, which a dry run and check give from the header alone."""
    small: dict[Crop, float] = {}
    for o in outputs:
        c = o.crop
        if c not in small:
            try:
                variant_geometry(c, master)
                small[c] = 0.0
            except TooSmall:
                small[c] = scale_for(c.fit, master, (c.width, c.height))
    # name the most demanding variant first: a master big enough for it serves them all
    names = [f"{c.variant} ({c.width}×{c.height})" for c, need in sorted(small.items(), key=lambda t: -t[1]) if need]
    if not names:
        return None
    return f"master {master[0]}×{master[1]} is smaller than {listed(names, 'and')}; use a larger master or set upscale: true"


def predicted_failure(job: Job, measure: Callable[[Path], tuple[int, int] | None]) -> str | None:
    """The line build would fail this article with because a master is too small, read from the
    masters' headers (`measure`: upright size, None when unreadable: render says why)."""
    for group in by_master(job):  # in render's order: the first master render would fail at
        size = measure(group.master)
        if size is None:
            return None  # unreadable: render says why, and stops there
        why = too_small(group.outputs, size)
        if why is not None:
            return f"{group.shown}: {why}"
    return None


def derivations(geometries: dict[Crop, Geometry], master: tuple[int, int]) -> dict[Crop, tuple[Crop, Geometry]]:
    """The crops resized from a bigger size's pixels (Crop.source) instead of from the decoded
    master, each with that bigger crop (aimed as the crop itself is) and its geometry: the first
    size in the list for which this master gives the same crop, neither is padded (`contain`)
    and the bigger one is not enlarged. Anything else is cut from the master. Like the decode
    scales, a function of the crop and the master alone: an output's bytes do not depend on
    which of its siblings are stale."""
    found = {}
    for crop, own in geometries.items():
        for width, height in crop.source:
            bigger = replace(crop, width=width, height=height, source=())
            try:
                big = variant_geometry(bigger, master)
            except TooSmall:
                continue
            if (
                big.crop == own.crop
                and big.canvas == big.size
                and own.canvas == own.size
                and own.size[0] < big.size[0] <= big.crop[2]
                and own.size[1] < big.size[1] <= big.crop[3]
            ):
                found[crop] = (bigger, big)
                break
    return found


def load_scale(engine: str, fmt: str, scale: float) -> float:
    """The scale `engine.load` is asked for when a variant needs `scale` of the master, rounded the
    way the engine's decoder for the format scales (formats.Format.scales_on_load): exactly where
    it scales while decoding (libwebp), else to a power of two, where JPEG's shrink-on-load lands
    exactly and other formats are kept whole or reduced once while streaming."""
    found = BY_NAME.get(fmt)
    return min(1.0, scale) if found is not None and engine in found.scales_on_load else step_up(scale)


def decode_scales(engine: Engine, probe: Probe, geometries: dict[Crop, Geometry]) -> dict[Crop, float]:
    """The scale each variant is decoded at: fixed by its own geometry and the master alone, never
    by its siblings, so that an output's bytes do not depend on which other outputs are stale.
    It is the master's shared scale, or a finer one of the variant's own when it needs more
    pixels, each rounded the way the engine's decoder scales: most variants share one decode."""
    master = (probe.width, probe.height)
    shared = load_scale(engine.name, probe.format, shared_scale(master, SHARED_DECODE_SIDE))
    scales = {}
    for key, g in geometries.items():
        own = load_scale(engine.name, probe.format, decode_scale([g]))
        scales[key] = own if own > shared * (1 + 1e-9) else shared  # a rounding error is no finer need
    return scales


def _render(job: Job, limits: Limits, engine: Engine, shown: str, decoded: dict) -> RenderResult:
    path = str(job.master)
    check_master_file(path, limits.max_bytes)
    data = read_master(path, job.master_hash)
    probe = engine.probe(path, data)
    if probe.pixels > limits.max_pixels:
        raise RenderError(
            shown,
            f"master is {probe.width}×{probe.height} ({probe.pixels / 1e6:.0f} megapixels), over the max_pixels limit of {limits.max_pixels / 1e6:g} megapixels",
        )
    check_decoded_bytes(probe, limits.max_decoded_bytes, shown)
    master = (probe.width, probe.height)
    why = too_small(job.outputs, master)
    if why is not None:
        raise RenderError(shown, why)
    # keyed by the crop: a variant's extra widths are crops of their own, with the same name
    geometries = {o.crop: variant_geometry(o.crop, master) for o in job.outputs}
    notes = (f"{probe.format} has {probe.pages} frames or pages: the first was used",) if probe.pages > 1 else ()
    master_git = git_blob_id(data)
    rendered = []
    # each crop is cut from the decoded master, or resized from the pixels of a bigger variant of
    # the same crop (Crop.source): keyed without the variant's name, two variants of one size and
    # crop share a cut; each key lists the crops it serves, with their geometry when resized
    derived = derivations(geometries, master)
    from_master: dict[Crop, Geometry] = {}
    serves: dict[Crop, list[tuple[Crop, Geometry | None]]] = {}
    for crop, geometry in geometries.items():
        source = derived.get(crop)
        key, cut_by = (replace(source[0], variant=""), source[1]) if source else (replace(crop, variant="", source=()), geometry)
        from_master.setdefault(key, cut_by)
        serves.setdefault(key, []).append((crop, geometry if source else None))
    scales = decode_scales(engine, probe, from_master)
    for scale in sorted(set(scales.values()), reverse=True):
        if decoded.get("key") != (job.master_hash, scale):  # articles sharing a master share its decodes
            decoded.clear()  # hold one decode at a time
            decoded.update(key=(job.master_hash, scale), img=engine.load(path, probe, scale, data))
        img = decoded["img"]
        for key, geometry in from_master.items():
            if scales[key] != scale:
                continue
            cut = engine.cut(img, geometry, master, key.position, key.background)
            ph = engine.placeholder(cut, key.background)  # one crop, one 16-px preview, whatever its size
            for crop, resized in serves[key]:
                pixels = cut if resized is None else engine.resize(cut, resized.size)
                for out in job.outputs:
                    if out.crop != crop:
                        continue
                    enc = engine.encode(pixels, out.format, dict(out.options), crop.background)
                    rendered.append(Rendered(out, enc.data, enc.width, enc.height, ph, master_git))
        del img
    order = {id(o): i for i, o in enumerate(job.outputs)}
    rendered.sort(key=lambda r: order[id(r.output)])
    return RenderResult(job, tuple(rendered), notes)
