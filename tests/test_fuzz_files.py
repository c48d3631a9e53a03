"""Fuzz the files renditions reads back: the manifest, the stat cache, shard manifests and the
config, as random bytes, random JSON/YAML shapes and mutations of the real thing.

Each run is the real CLI in a subprocess with a timeout, and must end with a documented exit code
(0, 1 or 2), never a traceback, and never write or delete a file outside the web root (`check`:
anywhere). Examples are few and derandomized, so the test is quick and the same on every run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import yaml
from conftest import gradient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renditions.hashing import cache_file

CONFIG = """\
variants:
  small: {key: image, path: "/img/a/{slug}.png", width: 64, height: 36}
  tiny: {key: mobile, path: "/img/m/{slug}.png", width: 32, height: 32}
"""
MANIFEST = "renditions.lock.json"
SETTINGS = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NASTY_KEYS = [
    "/etc/passwd",
    "/../outside/x.png",
    "../../outside/x.png",
    "//outside/x.png",
    "/img/a/../../../outside/x.png",
    "/img/a/x.png\x00",
    "/" + "a" * 300,
    "C:/x.png",
    "/img/a/one.png?v=1",
    "~/x.png",
    "/source_images/one.png",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=16,
)


class Fixture:
    def __init__(self, root: Path):
        self.base = root
        self.site = root / "site"
        self.cache = root / "cache"
        self.outside = root / "outside"
        self.env = {**os.environ, "RENDITIONS_CACHE_DIR": str(self.cache)}
        self.saved: dict[str, bytes] = {}

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        r = subprocess.run(
            [sys.executable, "-m", "renditions", *args], env=self.env, cwd=self.base, capture_output=True, text=True, timeout=120
        )
        assert r.returncode in (0, 1, 2), r.stderr
        assert "Traceback" not in r.stderr, r.stderr
        assert all(len(line) < 4000 for line in r.stderr.splitlines()), "a line too long to read"
        return r

    def files(self, skip_web_root: bool) -> dict[str, bytes]:
        """Every file under the test's folder, except the web root and renditions' own state."""
        own = {self.site / MANIFEST, self.site / ".renditions.lock"}
        out = {}
        for p in sorted(self.base.rglob("*")):
            if p.is_symlink() or not p.is_file() or p in own or self.cache in p.parents:
                continue
            if skip_web_root and self.site / "public" in p.parents:
                continue
            out[str(p.relative_to(self.base))] = p.read_bytes()
        return out

    @property
    def cache_path(self) -> Path:
        with mock.patch.dict(os.environ, {"RENDITIONS_CACHE_DIR": str(self.cache)}):
            return cache_file(self.site)

    def restore(self) -> None:
        for rel, data in self.saved.items():
            path = self.base / rel
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    f = Fixture(tmp_path_factory.mktemp("fuzz"))
    (f.site / "config").mkdir(parents=True)
    (f.site / "content").mkdir()
    (f.site / "source_images").mkdir()
    f.outside.mkdir()
    (f.site / "config" / "renditions.yaml").write_text(CONFIG)
    for slug in ("one", "two"):
        (f.site / "content" / f"{slug}.md").write_text(
            f'---\ntitle: {slug}\nimage: "/img/a/{slug}.png"\nmobile: "/img/m/{slug}.png"\n---\nText\n'
        )
        gradient((128, 72)).save(f.site / "source_images" / f"{slug}.png")
    assert f.cli("build", "--root", "site").returncode == 0
    for rel in ("site/" + MANIFEST, "site/config/renditions.yaml"):
        f.saved[rel] = (f.base / rel).read_bytes()
    f.saved[str(f.cache_path.relative_to(f.base))] = f.cache_path.read_bytes()
    return f


def _run_and_check(fx: Fixture, commands=("check", "build")) -> None:
    for cmd in commands:
        before = fx.files(skip_web_root=cmd != "check")
        fx.cli(cmd, "--root", "site")
        assert fx.files(skip_web_root=cmd != "check") == before
        assert not any(fx.outside.iterdir())
    fx.restore()


manifest_data = st.one_of(
    st.binary(max_size=300).map(lambda b: ("bytes", b)),
    json_values.map(lambda v: ("json", v)),
    st.tuples(
        st.sampled_from(
            [
                "article",
                "variant",
                "master",
                "master_hash",
                "recipe",
                "engine",
                "hash",
                "bytes",
                "width",
                "height",
                "format",
                "colour",
                "placeholder",
                "notes",
                "extra",
            ]
        ),
        json_values,
    ).map(lambda t: ("field", t)),
    st.tuples(st.sampled_from(NASTY_KEYS), st.booleans()).map(lambda t: ("key", t)),
    st.tuples(st.integers(0, 2000), st.integers(0, 2000), st.binary(min_size=0, max_size=8)).map(lambda t: ("splice", t)),
)


def _manifest_bytes(original: bytes, data) -> bytes:
    kind, value = data
    if kind == "bytes":
        return value
    if kind == "json":
        return json.dumps(value).encode()
    doc = json.loads(original)
    first = sorted(doc["outputs"])[0]
    if kind == "field":
        field, v = value
        doc["outputs"][first][field] = v
    elif kind == "key":
        key, keep = value
        doc["outputs"][key] = doc["outputs"][first] if keep else doc["outputs"].pop(first)
    else:
        a, b, junk = value
        a, b = sorted((a % len(original), b % len(original)))
        return original[:a] + junk + original[b:]
    return json.dumps(doc).encode()


@SETTINGS
@given(data=manifest_data)
def test_fuzz_the_manifest(fx, data):
    (fx.site / MANIFEST).write_bytes(_manifest_bytes(fx.saved["site/" + MANIFEST], data))
    _run_and_check(fx)


@SETTINGS
@given(
    data=st.one_of(
        st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()), json_values.map(lambda v: ("poison", v))
    )
)
def test_fuzz_the_stat_cache(fx, data):
    path = fx.cache_path
    if isinstance(data, tuple):  # every real entry replaced by a value of some other shape
        doc = json.loads(fx.saved[str(path.relative_to(fx.base))])
        data = json.dumps({k: data[1] for k in doc}).encode()
    path.write_bytes(data)
    for cmd in ("check", "build"):
        before = fx.files(skip_web_root=True)
        r = fx.cli(cmd, "--root", "site")
        assert r.returncode == 0, r.stderr  # a bad cache is only ever ignored
        assert fx.files(skip_web_root=True) == before
    fx.restore()


config_data = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: yaml.safe_dump(v).encode()),
    st.tuples(
        st.sampled_from(["max_pixels", "max_bytes", "max_front_matter_bytes", "content", "focus_key", "defaults", "variants"]),
        json_values,
    ).map(lambda t: ("top", t)),
    st.tuples(
        st.sampled_from(["width", "height", "key", "path", "fit", "position", "png", "jpeg", "also", "background", "upscale"]),
        json_values,
    ).map(lambda t: ("variant", t)),
)


@SETTINGS
@given(data=config_data)
def test_fuzz_the_config(fx, data):
    if isinstance(data, tuple):
        doc = yaml.safe_load(CONFIG)
        kind, (key, value) = data
        (doc if kind == "top" else doc["variants"]["small"])[key] = value
        data = yaml.safe_dump(doc).encode()
    (fx.site / "config" / "renditions.yaml").write_bytes(data)
    _run_and_check(fx, commands=("check",))  # a config may move the web root: check writes nowhere


@SETTINGS
@given(
    first=st.one_of(manifest_data, st.just(("valid", None))),
    spec=st.one_of(st.sampled_from(["1/2", "2/2", "1/1", "1/20000000", "0/2", "3/2", "x"]), st.text(max_size=30), json_values),
)
def test_fuzz_shard_manifests(fx, first, spec):
    original = fx.saved["site/" + MANIFEST]
    doc = json.loads(original if first[0] == "valid" else b"{}")
    if first[0] != "valid":
        try:
            doc = json.loads(_manifest_bytes(original, first))
        except ValueError:
            doc = None
    a, b = fx.base / "shard-a.json", fx.base / "shard-b.json"
    if isinstance(doc, dict):
        doc["shard"] = spec
        a.write_text(json.dumps(doc))
    else:
        a.write_bytes(_manifest_bytes(original, first))
    b.write_text(json.dumps({**json.loads(original), "shard": "2/2"}))
    before = {k: v for k, v in fx.files(skip_web_root=False).items() if not k.startswith("merged")}
    r = fx.cli("merge", "merged.json", "shard-a.json", "shard-b.json")
    assert all(len(line) < 400 for line in r.stderr.splitlines())
    assert {k: v for k, v in fx.files(skip_web_root=False).items() if not k.startswith("merged")} == before
    if r.returncode == 0:
        merged = json.loads((fx.base / "merged.json").read_text())
        assert all(k.startswith("/img/") for k in merged["outputs"])
    (fx.base / "merged.json").unlink(missing_ok=True)


# -- the same inputs in process, many more of them: only the typed errors may come out ----------

FAST = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FAST
@given(data=manifest_data)
def test_many_manifests_load_or_fail_with_one_typed_error(fx, tmp_path, data):
    from renditions.errors import ManifestError
    from renditions.manifest import load, match_on_disk

    path = tmp_path / "m.json"
    path.write_bytes(_manifest_bytes(fx.saved["site/" + MANIFEST], data))
    for resolve in (None, match_on_disk(fx.site / "public", fx.site / "source_images", lambda p: None)):
        try:
            man = load(path, "m.json", resolve)
        except ManifestError as exc:
            assert "\n" not in exc.message and len(exc.message) < 1000
            continue
        man.path = tmp_path / "again.json"
        man.save()  # whatever was accepted can be written back, and reads back the same
        assert load(man.path, "again.json").entries == man.entries


@FAST
@given(
    data=st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        json_values.map(lambda v: json.dumps({str(Path(__file__)): v}).encode()),
    )
)
def test_many_stat_caches_are_used_or_ignored(tmp_path, data):
    from renditions.hashing import Hasher

    path = tmp_path / "cache.json"
    path.write_bytes(data)
    h = Hasher(path)
    assert h(Path(__file__)) == Hasher()(Path(__file__))


@FAST
@given(data=config_data)
def test_many_configs_load_or_fail_with_one_typed_error(tmp_path, data):
    from renditions.config import load_config
    from renditions.errors import ConfigError

    if isinstance(data, tuple):
        doc = yaml.safe_load(CONFIG)
        kind, (key, value) = data
        (doc if kind == "top" else doc["variants"]["small"])[key] = value
        data = yaml.safe_dump(doc).encode()
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "renditions.yaml").write_bytes(data)
    try:
        load_config(tmp_path)
    except ConfigError as exc:
        assert exc.problems
