"""Shared fixtures: a throwaway site with the shipped config, and image helpers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PEER_IMAGES = SHARED / "testdata" / "peer-images"

VARIANT_KEYS = {
    "image": "/img/artical/articles/{slug}.png",
    "mobile": "/img/artical/mobile-articles/{slug}.png",
    "singleImage": "/img/artical/single-articles/{slug}.png",
    "MobileSingleImage": "/img/artical/mobile-single-articles/{slug}.png",
}
SIZES = {
    "image": (800, 450),
    "mobile": (640, 360),
    "singleImage": (1600, 900),
    "MobileSingleImage": (800, 600),
}


class Site:
    """A site folder under tmp_path: config/, content/, source_images/, public/."""

    def __init__(self, root: Path):
        self.root = root
        (root / "config").mkdir(parents=True)
        (root / "content").mkdir()
        (root / "source_images").mkdir()
        shutil.copy(REPO / "config" / "renditions.yaml", root / "config" / "renditions.yaml")

    @property
    def public(self) -> Path:
        return self.root / "public"

    @property
    def sources(self) -> Path:
        return self.root / "source_images"

    def config(self, text: str) -> None:
        (self.root / "config" / "renditions.yaml").write_text(text)

    def article(self, slug: str, extra: str = "", keys: dict | None = None, body: str = "Text.\n") -> Path:
        """Write content/<slug>.md in the site's front-matter shape."""
        keys = dict(VARIANT_KEYS) if keys is None else keys
        lines = ["---", f'title: "{slug}"']
        lines += [f'{k}: "{v.format(slug=slug)}"' for k, v in keys.items()]
        if extra:
            lines.append(extra.rstrip("\n"))
        lines += ["---", "", body]
        path = self.root / "content" / f"{slug}.md"
        path.write_text("\n".join(lines))
        return path

    def master(self, slug: str, size=(1920, 1080), ext: str = "png", colour=None, image: Image.Image | None = None) -> Path:
        """A synthetic master: a horizontal gradient (left dark, right bright) unless `image`."""
        im = image if image is not None else gradient(size, colour)
        path = self.sources / f"{slug}.{ext}"
        fmt = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "tif": "TIFF", "tiff": "TIFF"}[ext.lower()]
        im.save(path, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
        return path

    def out(self, key: str, slug: str) -> Path:
        return self.public / VARIANT_KEYS[key].format(slug=slug).lstrip("/")

    def outputs(self, slug: str) -> list[Path]:
        return [self.out(k, slug) for k in VARIANT_KEYS]


def gradient(size, colour=None) -> Image.Image:
    w, h = size
    if colour is not None:
        return Image.new("RGB", size, colour)
    row = Image.linear_gradient("L").rotate(90).resize((w, 1))
    if row.getpixel((0, 0)) > 128:  # dark on the left, bright on the right
        row = row.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    g = row.resize((w, h))
    return Image.merge("RGB", (g, g, Image.new("L", size, 128)))


@pytest.fixture
def site(tmp_path, monkeypatch) -> Site:
    monkeypatch.setenv("RENDITIONS_CACHE_DIR", str(tmp_path / "cache"))
    return Site(tmp_path / "site")


@pytest.fixture
def forks(monkeypatch) -> list[int]:
    """Every os.fork this process makes, with the number of threads it ran at that moment."""
    import os

    from renditions import procs

    seen: list[int] = []
    real = os.fork

    def fork():
        seen.append(procs.threads_running())
        return real()

    monkeypatch.setattr(os, "fork", fork)
    return seen


@pytest.fixture(params=["vips", "pillow"])
def engine(request) -> str:
    return request.param


def load_schema(name: str) -> dict:
    """A JSON Schema as shipped inside the installed package."""
    import json
    from importlib.resources import files

    return json.loads(files("renditions").joinpath("schemas", f"{name}.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def report_validator():
    import jsonschema

    return jsonschema.Draft202012Validator(load_schema("report"))


def json_report(stdout: str) -> dict:
    """Parse the `--json` document a renditions child process printed, and check it against
    schemas/report.schema.json: the autouse fixture below only sees in-process (CliRunner) runs, so
    every test that runs renditions in a subprocess with `--json` reads its stdout through this."""
    import json

    import jsonschema

    doc = json.loads(stdout)
    schema = load_schema("report")
    # the schema is oneOf report/status/error, which fails as a whole: name the reasons against the
    # branch this document claims to be (then the whole schema must pass too)
    kind = (
        "error"
        if isinstance(doc, dict) and "error" in doc
        else "status"
        if isinstance(doc, dict) and doc.get("command") == "status"
        else "report"
    )
    for check in ({"$ref": f"#/$defs/{kind}", "$defs": schema["$defs"]}, schema):
        invalid = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in jsonschema.Draft202012Validator(check).iter_errors(doc)
        ]
        assert not invalid, f"a --json document does not match schemas/report.schema.json: {invalid}"
    return doc


@pytest.fixture(autouse=True)
def _json_reports_match_the_schema(monkeypatch, report_validator):
    """Every `--json` document the CLI prints in-process, across the whole suite, must match the schema."""
    import json

    from renditions import cli

    real = cli._emit_json
    invalid: list[str] = []  # asserted after the test: CliRunner would swallow an exception raised here

    def checked(doc: dict) -> None:
        invalid.extend(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in report_validator.iter_errors(json.loads(json.dumps(doc)))
        )
        real(doc)

    monkeypatch.setattr(cli, "_emit_json", checked)
    yield
    assert not invalid, f"a --json document does not match schemas/report.schema.json: {invalid}"
