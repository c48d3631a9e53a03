"""`renditions preview`: one static HTML page showing every crop of every master at once.

Per article: a JPEG thumbnail of the master (a TIFF or HEIC master is not something a
browser shows) with each variant's crop box drawn over it, every variant beside it with its
size, bytes and format, and the article's problems as text. Plain HTML and CSS with
relative links, so it works from file:// with no server and no JavaScript (but for the one
script of live mode, `watch --preview`, which reloads the page after each build).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from .config import ENCODER_DEFAULTS, Config
from .discover import Article
from .engine import Engine
from .errors import PathError, RenditionsError
from .geometry import SMART_POSITIONS, TooSmall, decode_scale, plan_geometry
from .hints import UNUSED_MASTER
from .paths import resolve_output
from .plan import MISSING, Plan, Problem, article_outputs, crop_for, is_extra
from .render import check_decoded_bytes, check_master_file, variant_geometry
from .report import plural
from .session import open_session
from .sniff import sniff_file
from .write import delete, write_atomic

#: Longest side of a master's thumbnail on the page.
THUMB = 720
THUMB_DIR = "masters"
#: The file that marks a folder as the preview's own and lists every file the preview wrote.
MARKER = ".renditions-preview"
MARKER_FORMAT = "renditions-preview"
WHITE = (255, 255, 255)
COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#008080", "#9a6324", "#808000")

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .2em}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1em;margin:1.2em 0}
h2{font-size:1.1em;margin:0 0 .5em}h2 small{font-weight:normal;color:#777}
.problems{margin:.3em 0 .8em;padding:0;list-style:none}
.problems li{padding:.3em .6em;margin:.2em 0;border-radius:4px}
.problems .error{background:#fde8e8;color:#8a1111}.problems .warning{background:#fff6db;color:#6b5200}
.row{display:flex;gap:1.2em;align-items:flex-start;flex-wrap:wrap}
.master{flex:0 1 480px;margin:0}
.frame{position:relative;line-height:0}
.frame img{width:100%;height:auto;display:block}
.box{position:absolute;border:2px solid;box-sizing:border-box}
.label{position:absolute;font-size:11px;height:1.3em;line-height:1.3em;white-space:nowrap;color:#fff;padding:0 3px;box-sizing:border-box}
.box.smart{border-style:dashed}
.nomaster{padding:2em 1em;line-height:1.4;background:#eee;color:#8a1111;text-align:center;border-radius:4px}
.variants{flex:1 1 400px;display:flex;flex-wrap:wrap;gap:.8em;align-items:flex-start}
.variant{margin:0;width:220px}
.variant img{width:100%;height:auto;display:block;border-top:4px solid}
.variant .none{height:90px;display:flex;align-items:center;justify-content:center;background:#eee;color:#8a1111;border-top:4px solid;text-align:center;padding:0 .5em}
figcaption{font-size:12px;color:#444;margin-top:.3em}
figcaption b{color:#222}
"""


@dataclass(frozen=True)
class PreviewResult:
    page: Path
    articles: int
    problems: int


@dataclass(frozen=True)
class Box:
    variant: str
    colour: str
    left: float  # percent of the master's width / height
    top: float
    width: float
    height: float
    smart: bool


@dataclass(frozen=True)
class Shown:
    """One output as the page shows it."""

    variant: str
    colour: str
    site_path: str
    href: str | None  # None when there is no image to show
    caption: str
    missing_text: str = ""


def default_page(cfg: Config) -> Path:
    """Outside the web root: a designer's page must not ship with the site."""
    return cfg.root / ".renditions" / "preview" / "index.html"


def own_folder(page: Path, default: bool) -> Path:
    """The folder the preview creates and marks as its own: the default page's folder, or one
    beside an --out page (whose folder may hold anything)."""
    return page.parent if default else page.parent / f"{page.stem}-preview"


def read_marker(folder: Path) -> set[str] | None:
    """What the preview wrote before (paths relative to `folder`), None if the folder isn't its own.
    Raises RenditionsError when the folder exists, holds files, and is not marked."""
    try:
        doc = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        if folder.exists() and any(folder.iterdir()):
            raise RenditionsError(
                folder, f"the folder exists and renditions preview did not make it (no {MARKER} in it): choose another --out"
            ) from None
        return None
    except (OSError, ValueError, UnicodeDecodeError):
        raise RenditionsError(
            folder / MARKER, "is not a renditions preview marker: move the folder away, or choose another --out"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != MARKER_FORMAT or not isinstance(doc.get("files"), list):
        raise RenditionsError(
            folder / MARKER, "is not a renditions preview marker: move the folder away, or choose another --out"
        )
    return {f for f in doc["files"] if isinstance(f, str)}


def write_marker(folder: Path, files: set[str]) -> None:
    doc = {
        "format": MARKER_FORMAT,
        "note": "written by `renditions preview`, which deletes only the files listed here",
        "files": sorted(files),
    }
    write_atomic(folder / MARKER, (json.dumps(doc, indent=1) + "\n").encode("utf-8"))


def url(target: Path, page_dir: Path) -> str:
    rel = os.path.relpath(target, page_dir).replace(os.sep, "/")
    return urllib.parse.quote(rel)


def human_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.2f} MB"


def thumbnail(
    engine: Engine, master: Path, dest: Path, max_bytes: int, max_pixels: int, max_decoded: int | None = None
) -> tuple[int, int]:
    """Write a JPEG of the upright master, fit inside THUMB×THUMB, to `dest` unless it is there
    already (its name is the master's hash); return the master's size. Raises RenditionsError."""
    check_master_file(str(master), max_bytes)
    probe = engine.probe(str(master))
    if probe.pixels > max_pixels:
        raise RenditionsError(master, f"master is {probe.width}×{probe.height}, over the max_pixels limit")
    if max_decoded is not None:
        check_decoded_bytes(probe, max_decoded, str(master))
    size = (probe.width, probe.height)
    if not dest.exists():
        g = plan_geometry("inside", size, (THUMB, THUMB))
        img = engine.load(str(master), probe, decode_scale([g]))
        pixels = engine.cut(img, g, size, "centre", WHITE)
        options = dict(ENCODER_DEFAULTS["jpeg"], quality=80, progressive=False)
        write_atomic(dest, engine.encode(pixels, "jpeg", options, WHITE).data)
    return size


def crop_boxes(a: Article, cfg: Config, size: tuple[int, int]) -> tuple[list[Box], list[Problem]]:
    """Each variant's crop as percentages of the master, and the variants it is too small for."""
    boxes, problems = [], []
    for i, v in enumerate(cfg.variants):
        if a.master_for(v.name) != a.master:
            continue  # art direction: cut from its own master, not this one
        crop = crop_for(v, a)
        try:
            g = variant_geometry(crop, size)
        except TooSmall:
            problems.append(
                Problem(
                    a.rel,
                    f"master {size[0]}×{size[1]} is smaller than {v.name} ({v.width}×{v.height}): use a larger master or set upscale: true",
                    a.rel,
                )
            )
            continue
        left, top, w, h = g.crop
        smart = crop.position in SMART_POSITIONS  # a focus point beats a smart crop
        boxes.append(
            Box(
                v.name,
                COLOURS[i % len(COLOURS)],
                100 * left / size[0],
                100 * top / size[1],
                100 * w / size[0],
                100 * h / size[1],
                smart,
            )
        )
    return boxes, problems


def label_html(boxes: list[Box]) -> str:
    """Each crop box's label at its box's top-left corner, pushed down just below the label
    above it when they would touch: label i's top is the largest of box j's top plus (i - j)
    label heights, over the boxes j sorted above it, so no two labels ever overlap."""
    ordered = sorted(boxes, key=lambda b: (b.top, b.left))
    out = []
    for i, b in enumerate(ordered):
        top = ", ".join(f"calc({ordered[j].top:.3f}% + {1.3 * (i - j):.1f}em)" for j in range(i + 1))
        out.append(
            f'<span class="label" data-variant="{html.escape(b.variant)}" style="background:{b.colour};left:{b.left:.3f}%;top:max({top})">'
            f"{html.escape(b.variant)}{' (smart crop: decided when rendered)' if b.smart else ''}</span>"
        )
    return "".join(out)


def shown_outputs(a: Article, cfg: Config, plan: Plan, page_dir: Path, blocked: bool = False) -> list[Shown]:
    """The article's variant cards. `blocked`: the article's problems stop a build writing them,
    so a missing output's card says to see those, not to run a build that would fail again."""
    status = {o.site_path: "up to date" for o in plan.fresh}
    for j in plan.jobs:
        for o in j.outputs:
            status[o.site_path] = "not built yet" if o.reason == MISSING else f"stale ({o.reason})"
    colour = {v.name: COLOURS[i % len(COLOURS)] for i, v in enumerate(cfg.variants)}
    shown = []
    for v, site_path, fmt, _line in article_outputs(a, cfg)[0]:
        if is_extra(v, cfg):
            continue  # an extra width is the same crop at another size
        try:
            dest = resolve_output(site_path, cfg.public, cfg.sources)
        except PathError:
            continue  # the plan's problems already say why
        state = status.get(site_path, "not built")
        found = sniff_file(str(dest)) if dest.is_file() else None
        if found is None:
            if dest.exists():
                text = f"not a readable {fmt} file"
            elif blocked:
                text = "not built: see the problem above"
            elif a.draft:
                text = "not built yet: a draft (renditions build --drafts builds it)"
            else:
                text = "not built yet: run renditions build"
            shown.append(
                Shown(v.name, colour[v.name], site_path, None, f"<b>{html.escape(v.name)}</b> {v.width}×{v.height}", text)
            )
            continue
        size = dest.stat().st_size
        cap = f"<b>{html.escape(v.name)}</b> {found[1]}×{found[2]} · {human_bytes(size)} · {found[0]}"
        if state != "up to date":
            cap += f' · <span class="state">{html.escape(state)}</span>'
        shown.append(Shown(v.name, colour[v.name], site_path, url(dest, page_dir), cap))
    return shown


def _problem_items(problems: list[Problem]) -> str:
    return "".join(
        f'<li class="{"error" if p.error else "warning"}">{"" if p.error else "warning: "}{html.escape(p.reason)}</li>'
        for p in problems
    )


def article_html(
    a: Article,
    cfg: Config,
    plan: Plan,
    engine: Engine,
    hasher,
    page_dir: Path,
    thumbs: set[str],
    thumb_dir: Path,
    anchor: str = "",
) -> tuple[str, int]:
    """One article's section, and how many problems it shows. `anchor`: the section's id (the
    slug, unless another article, a translation, has it already)."""
    problems = [p for p in plan.problems if p.article == a.rel]
    master_html = ""
    if a.master is None:
        master_html = '<div class="nomaster">no master image (see above)</div>'
    else:
        name = f"{hasher(a.master) or 'unreadable'}"[:16] + ".jpg"
        try:
            size = thumbnail(engine, a.master, thumb_dir / name, cfg.max_bytes, cfg.max_pixels, cfg.max_decoded_bytes)
        except RenditionsError as exc:
            problems.append(Problem(a.rel, f"master {os.path.relpath(a.master, cfg.root)}: {exc.reason}", a.rel))
            master_html = f'<div class="nomaster">master cannot be shown: {html.escape(exc.reason)}</div>'
        else:
            thumbs.add(name)
            boxes, small = crop_boxes(a, cfg, size)
            problems += small
            box_html = "".join(
                f'<div class="box{" smart" if b.smart else ""}" style="left:{b.left:.3f}%;top:{b.top:.3f}%;width:{b.width:.3f}%;'
                f'height:{b.height:.3f}%;border-color:{b.colour}" title="{html.escape(b.variant)}"></div>'
                for b in boxes
            ) + label_html(boxes)
            master_bytes = a.master.stat().st_size
            master_html = (
                f'<div class="frame"><img src="{url(thumb_dir / name, page_dir)}" alt="master of {html.escape(a.slug)}">{box_html}</div>'
                f"<figcaption><b>{html.escape(os.path.relpath(a.master, cfg.root))}</b> {size[0]}×{size[1]} · {human_bytes(master_bytes)}</figcaption>"
            )
    cards = []
    blocked = a.master is None or any(p.error for p in problems)
    for s in shown_outputs(a, cfg, plan, page_dir, blocked):
        if s.href is None:
            body = f'<div class="none" style="border-color:{s.colour}">{html.escape(s.missing_text)}</div>'
        else:
            body = f'<a href="{s.href}"><img src="{s.href}" alt="{html.escape(s.site_path)}" style="border-color:{s.colour}"></a>'
        cards.append(
            f'<figure class="variant">{body}<figcaption>{s.caption}<br><code>{html.escape(s.site_path)}</code></figcaption></figure>'
        )
    items = _problem_items(problems)
    section = (
        f'<section id="{html.escape(anchor or a.slug)}"><h2>{html.escape(a.slug)}{" (draft)" if a.draft else ""} <small>{html.escape(a.rel)}</small></h2>'
        + (f'<ul class="problems">{items}</ul>' if items else "")
        + f'<div class="row"><figure class="master">{master_html}</figure><div class="variants">{"".join(cards)}</div></div></section>'
    )
    return section, len(problems)


#: Live mode (`watch --preview`): the page loads LIVE_STAMP beside it every second, a script
#: file because file:// pages may load scripts but not fetch files, and reloads when it changes.
LIVE_STAMP = "live.js"
LIVE_SCRIPT = (
    '<script>(function(){{var stamp="{stamp}";setInterval(function(){{var s=document.createElement("script");'
    's.src="{file}?"+Date.now();s.onload=s.onerror=function(){{s.remove();'
    "if(window.renditionsStamp&&window.renditionsStamp!==stamp)location.reload()}};document.head.appendChild(s)}},1000)}})();</script>"
)


def preview(
    root=".", config=None, *, out: str | os.PathLike | None = None, engine: str | None = None, live: bool = False
) -> PreviewResult:
    """Write the preview page (and the masters' thumbnails beside it); read-only for everything else.

    `live` (watch --preview) adds the one script the page has: it reloads the page when a
    later preview writes a different page."""
    s = open_session(root, config, engine, drafts=True)
    cfg = s.config
    plan = s.plan()
    page = Path(os.path.abspath(out)) if out else default_page(cfg)
    page_dir = page.parent
    folder = own_folder(page, not out)
    wrote = read_marker(folder) or set()
    page_name = os.path.relpath(page, folder).replace(os.sep, "/")
    if os.path.lexists(page) and page_name not in wrote:
        raise RenditionsError(page, "exists and renditions preview did not write it: choose another --out (or move it away)")
    folder.mkdir(parents=True, exist_ok=True)
    write_marker(folder, wrote | {page_name} | ({LIVE_STAMP} if live else set()))  # marked before anything else is written in it
    thumb_dir = folder / THUMB_DIR
    thumbs: set[str] = set()
    sections, count = [], 0
    ids: set[str] = set()
    for a in s.articles:
        anchor, i = a.slug, 1
        while anchor in ids:  # translations share a slug: content/x.md, content/x.fr.md
            i += 1
            anchor = f"{a.slug}-{i}"
        ids.add(anchor)
        text, n = article_html(a, cfg, plan, s.engine, s.hasher, page_dir, thumbs, thumb_dir, anchor)
        sections.append(text)
        count += n
    loose = [p for p in plan.problems if not p.article]
    loose += [Problem("", UNUSED_MASTER.format(name=name), error=False) for name in s.unused_masters()]
    by = "<code>renditions watch --preview</code> on every change" if live else "<code>renditions preview</code>"
    doc = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>renditions preview: {html.escape(cfg.root.name)}</title><style>{CSS}</style></head><body>"
        f"<h1>renditions preview</h1><p>{plural(len(s.articles), 'article')}, {plural(count, 'problem')} · "
        f"{plural(len(cfg.variants), 'variant')}: {', '.join(html.escape(v.name) for v in cfg.variants)} · rebuilt by {by}</p>"
        + (f'<ul class="problems">{_problem_items(loose)}</ul>' if loose else "")
        + "".join(sections)
        + "</body></html>\n"
    )
    if live:
        stamp = hashlib.sha256(doc.encode("utf-8")).hexdigest()[:16]
        script = LIVE_SCRIPT.format(stamp=stamp, file=os.path.relpath(folder / LIVE_STAMP, page_dir).replace(os.sep, "/"))
        doc = doc.replace("</head>", script + "</head>", 1)
    write_atomic(page, doc.encode("utf-8"))
    own = {page_name} | {f"{THUMB_DIR}/{name}" for name in thumbs}
    if live:  # after the page: a reload always finds the new one
        write_atomic(folder / LIVE_STAMP, f'window.renditionsStamp = "{stamp}";\n'.encode())
        own.add(LIVE_STAMP)
    write_marker(folder, own)
    _sweep(folder, wrote - own)
    return PreviewResult(page, len(s.articles), count)


def _sweep(folder: Path, old: set[str]) -> None:
    """Delete what the preview wrote before and no longer shows (thumbnails of masters that
    changed or went away): only files its marker listed, never anything else."""
    for name in sorted(old):
        path = folder / name
        if ".." in name.split("/") or not path.is_file() or path.is_symlink():
            continue
        try:
            delete(path)
        except OSError:
            pass
