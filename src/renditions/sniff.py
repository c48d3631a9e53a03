"""Read a file's format, and an output's size, from its first bytes, without an imaging library.

`check` uses this to verify thousands of outputs, in a child process while it reads the
articles and plans (`Ahead`).
Which format a file is comes from the signatures in the formats table; the size is read for the
formats renditions writes.
"""

from __future__ import annotations

import marshal
import os
import re
import struct
import sys

from .child import Child, answer
from .formats import EMPTY_MASTER, sniff_format, unsupported
from .hashing import _signature, signature_tuple


def _png(head: bytes) -> tuple[int, int] | None:
    if head[12:16] != b"IHDR" or len(head) < 24:
        return None
    return struct.unpack(">II", head[16:24])


def _webp(head: bytes) -> tuple[int, int] | None:
    kind = head[12:16]
    if kind == b"VP8X":
        return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
    if kind == b"VP8 ":
        w, h = struct.unpack("<HH", head[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if kind == b"VP8L":
        b = int.from_bytes(head[21:25], "little")
        return (b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1
    return None


def _avif(head: bytes) -> tuple[int, int] | None:
    i = head.find(b"ispe")
    if i > 0 and len(head) >= i + 16:
        return struct.unpack(">II", head[i + 8 : i + 16])
    return None


def _jpeg(head: bytes) -> tuple[int, int] | None:
    i, n = 2, len(head)
    while i + 9 < n:
        if head[i] != 0xFF:
            i += 1
            continue
        marker = head[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start of frame: its size
            return head[i + 7] << 8 | head[i + 8], head[i + 5] << 8 | head[i + 6]
        i += 2 + (head[i + 2] << 8 | head[i + 3])  # past the segment: its length, big-endian
    return None


#: The size readers, for every format renditions writes (a test holds this to the table).
SIZE_READERS = {"png": _png, "webp": _webp, "avif": _avif, "jpeg": _jpeg}


def sniff(head: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) for a header of a format renditions writes; None otherwise."""
    found = sniff_format(head)
    reader = SIZE_READERS.get(found.name) if found else None
    size = reader(head) if reader else None
    return (found.name, size[0], size[1]) if found and size else None


def content_label(path: str) -> str | None:
    """What a file's first bytes say it is ("BMP"), for the message refusing it; None if unknown."""
    try:
        with open(path, "rb") as fh:
            found = sniff_format(fh.read(64))
    except OSError:
        return None
    return found.label if found else None


def refused_master(path: str, engine: str) -> str | None:
    """Why `engine` will refuse a master, as render says it (`not a supported image ... found
    BMP`), when its first bytes are a format the engine does not read, or no image's signature
    at all (a text file named .png, an empty file: every format renditions reads has one); None
    otherwise. `check` decodes nothing: a corrupt master waits for build (or its note, failures.py),
    and so does an ISO box of a brand not listed (a HEIF variant libvips may read)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError:
        return None
    if not head:
        return EMPTY_MASTER
    found = sniff_format(head)
    if found is None:
        return None if head[4:8] == b"ftyp" else unsupported(engine)
    return unsupported(engine, found.label) if engine not in found.read_by else None


def sniff_file(path: str, limit: int = 65536) -> tuple[str, int, int] | None:
    """Raises OSError. Plain system calls, no file object: `check` sniffs every output."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)  # a FIFO must not block
    try:
        return _sniff_fd(fd, limit)
    finally:
        os.close(fd)


def _sniff_fd(fd: int, limit: int = 65536) -> tuple[str, int, int] | None:
    head = os.read(fd, 4096)  # enough for every header renditions writes; more only if needed
    found = sniff(head)
    if found is None and len(head) == 4096:
        found = sniff(head + os.read(fd, limit - 4096))
    return found


#: A manifest smaller than this (about 500 outputs, at 600 bytes a line) is sniffed in this
#: process: a child costs 0.1 s to start. The file's size decides, so that the child starts
#: before the manifest is read.
AHEAD_MIN_BYTES = 300_000
#: The child's niceness: it yields the second core to git's child, needed sooner (child.py).
AHEAD_NICE = 10


class Ahead:
    """Every output the manifest lists, sniffed in a child process (child.py) while this one
    reads the articles and plans: on a 2,000-article site `check` reads 8,000 headers (0.15-0.3
    s), and the child takes the other core once git's child (needed sooner) leaves it. Each
    header comes with the file's stat before and after it was read; `check` takes it only for a
    file whose stat is the one it hashed it by, and sniffs anything else. The child's work is
    wasted, harmlessly, when the manifest turns out to record another web root."""

    @classmethod
    def worth_it(cls, manifest: str | os.PathLike, public: str | os.PathLike) -> Ahead | None:
        """One started if the manifest is big enough to pay for the child, else None."""
        try:
            big = os.stat(manifest).st_size >= AHEAD_MIN_BYTES
        except OSError:
            return None
        return cls(manifest, public) if big else None

    def __init__(self, manifest: str | os.PathLike, public: str | os.PathLike):
        # started with the articles' reading, needed after the plan: after git's answer (gitindex.Scan)
        self.child = Child("renditions.sniff", "_ahead", os.fspath(manifest), os.fspath(public), nice=AHEAD_NICE)

    def result(self) -> dict[str, tuple[tuple[int, ...], tuple[str, int, int]]]:
        """path → ((size, mtime_ns, ctime_ns, inode), (format, width, height)); empty if the child failed."""
        out = self.child.output()
        try:  # marshalled by our own child, this Python: read in C, not parsed from text here
            found = marshal.loads(out) if out else {}
        except Exception:
            return {}
        return found if type(found) is dict else {}

    def close(self) -> None:
        self.child.close()


def taken(head: tuple[tuple[int, ...], tuple[str, int, int]] | None, signature: list[int] | None) -> tuple[str, int, int] | None:
    """The child's header for a file, if it read the file `signature` (size, mtime_ns, ctime_ns,
    inode: the stat it was hashed by) describes; else None (then sniff it here)."""
    if head is None or signature is None or head[0] != _key(signature):
        return None
    return head[1]


def _key(signature: list[int]) -> tuple[int, ...]:
    """The hasher's stat signature (hashing._signature) as the child records it."""
    return tuple(signature[:4])


def _stat_key(path: str) -> tuple[int, ...]:
    return _key(_signature(os.stat(path)))


class Changed(Exception):
    """The file is no longer the one that was hashed: it was replaced or rewritten since."""


def sniff_hashed(path: str, signature: list[int] | None) -> tuple[str, int, int] | None:
    """sniff_file for the file `signature` (size, mtime_ns, ctime_ns, inode: the stat it was
    hashed by) describes: the header read is that file's, not one swapped in since. Raises
    Changed if the stat before or after the read is another one, OSError as sniff_file does."""
    if signature is None:
        return sniff_file(path)
    want = _key(signature)
    if _stat_key(path) != want:
        raise Changed(path)
    found = sniff_file(path)
    if _stat_key(path) != want:
        raise Changed(path)
    return found


#: An output's line in the manifest as manifest.dumps writes it: the site path, unescaped.
_OUTPUT_LINE = re.compile(rb'\n  "([^"\\\n]+)": \{')  # a literal first: found by a fast search, not tried at every byte


def _ahead(manifest: str, public: str) -> None:
    """Ahead's child: sniff each output the manifest lists; a file that changed while it was read
    (another stat after than before) is left out. The list is taken from the lines manifest.dumps
    writes (a fifth of parsing the JSON); only a manifest of another layout is parsed. A path
    missed, or one that is no output, costs nothing: `check` takes only the headers it wants."""
    import json

    from .errors import PathError
    from .paths import all_plain, clean_site_path

    def is_site_path(key: str) -> bool:  # as manifest._entry has it; check refuses any other key
        try:
            return clean_site_path(key) == key
        except PathError:
            return False

    try:
        with open(manifest, "rb") as fh:
            raw = fh.read()
        sites = [m.decode("utf-8") for m in _OUTPUT_LINE.findall(raw)]
        if not sites:
            outputs = json.loads(raw)["outputs"]
            sites = list(outputs) if type(outputs) is dict else []
    except (OSError, ValueError, KeyError, TypeError):
        sys.exit(1)
    found = {}
    plain = all_plain(sites)  # each key checked in one regex, as a manifest's keys are
    folder = os.path.join(public, "")
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK  # a FIFO must not block
    fopen, fstat, close, identity = os.open, os.fstat, os.close, signature_tuple  # _key(_signature(st))
    for site in sites:
        if not plain and not is_site_path(site):  # `//etc/x` or `/a/../b` would lead outside the web root
            continue
        path = folder + site[1:]  # os.path.join of a clean site path's rest
        try:
            fd = fopen(path, flags)
        except OSError:
            continue
        try:  # the stat of the file read, before and after: a path walked once, not three times
            before = identity(fstat(fd))
            head = _sniff_fd(fd)
            if head is not None and identity(fstat(fd)) == before:
                found[path] = (before, head)
        except (OSError, ValueError):
            continue
        finally:
            close(fd)
    answer(marshal.dumps(found))
