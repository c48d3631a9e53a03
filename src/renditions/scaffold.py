"""`renditions init`: a commented config and the folders, for a site that has neither.

The config written here is the shipped example's, with a comment on every line, so a new
site starts from something that builds and explains itself. Nothing existing is overwritten.
"""
from __future__ import annotations

import os
from pathlib import Path

from .config import CONFIG_NAME
from .errors import UsageError
from .formats import READ
from .write import write_atomic

CONFIG_TEMPLATE = """\
# renditions config. Every setting and its default: README.md, "Config reference".
# Relative paths resolve against the site root (the folder holding config/).

content: "content/**/*.md"      # the articles: markdown files with YAML front matter
sources: source_images          # masters: one per article, named <slug>.<ext> (<MASTER_EXTS>)
public: public                  # web root: the front-matter path "/img/x.png" is written to public/img/x.png
manifest: renditions.lock.json  # record of what was written, from what; commit it beside the images
# data: data/renditions.json    # a data file for templates (srcset, sizes, placeholder); see examples/

# Settings every variant inherits (each variant may override them):
# defaults:
#   fit: cover          # cover: fill and crop | contain: fit and pad with background | inside: fit, may be smaller
#   position: centre    # where a cover crop sits: centre, north, ..., attention, entropy
#   background: "#ffffff"
#   upscale: false      # allow masters smaller than a variant
#   also: [webp]        # extra formats written beside each output, for <picture>
#   densities: [1, 2]   # extra widths for srcset: 2 writes x-<2 × width>w.png beside x.png
#   budget: 300KB       # warn when an output weighs more (KB = 1000 bytes)

# One entry per image the site shows. `key` is the front-matter key that holds the output's
# path; `path` is used (with a warning) when an article lacks the key ({slug} is replaced).
variants:
  article:        {key: image,             path: "/img/artical/articles/{slug}.png",               width: 800,  height: 450}
  mobile-article: {key: mobile,            path: "/img/artical/mobile-articles/{slug}.png",        width: 640,  height: 360}
  single:         {key: singleImage,       path: "/img/artical/single-articles/{slug}.png",        width: 1600, height: 900}
  mobile-single:  {key: MobileSingleImage, path: "/img/artical/mobile-single-articles/{slug}.png", width: 800,  height: 600}

# An article can keep a point of its master in every crop with `focus: [x, y]` in its front
# matter (fractions of the master's width and height), e.g. focus: [0.3, 0.4].
""".replace("<MASTER_EXTS>", ", ".join(f.master_exts[0][1:] for f in READ))

FOLDERS = ("content", "source_images")


def init_site(root: str | os.PathLike = ".") -> list[str]:
    """Write the config and create the folders; returns what was created (relative to root).

    Raises UsageError, and creates nothing, when the site already has a config."""
    base = Path(root)
    config = base / CONFIG_NAME
    if os.path.lexists(config):
        raise UsageError(str(config), "a config already exists; renditions init never overwrites it (edit it, or delete it first)")
    created = []
    write_atomic(config, CONFIG_TEMPLATE.encode("utf-8"))
    created.append(CONFIG_NAME)
    for name in FOLDERS:
        folder = base / name
        if not folder.is_dir():
            folder.mkdir(parents=True)
            created.append(name + "/")
    return created
