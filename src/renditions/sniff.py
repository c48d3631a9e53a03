"""Read an output's format and size from its first bytes, without an imaging library.

`check` uses this to verify thousands of outputs in well under a second.
"""
from __future__ import annotations

import struct


def sniff(head: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) for PNG, JPEG, WebP and AVIF headers; None if unknown."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        return ("png", w, h)
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        kind = head[12:16]
        if kind == b"VP8X":
            w = 1 + int.from_bytes(head[24:27], "little")
            h = 1 + int.from_bytes(head[27:30], "little")
            return ("webp", w, h)
        if kind == b"VP8 ":
            w, h = struct.unpack("<HH", head[26:30])
            return ("webp", w & 0x3FFF, h & 0x3FFF)
        if kind == b"VP8L":
            b = int.from_bytes(head[21:25], "little")
            return ("webp", (b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1)
        return None
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis", b"mif1"):
        i = head.find(b"ispe")
        if i > 0 and len(head) >= i + 16:
            w, h = struct.unpack(">II", head[i + 8 : i + 16])
            return ("avif", w, h)
        return None
    if head.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(head):
            if head[i] != 0xFF:
                i += 1
                continue
            marker = head[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            length = struct.unpack(">H", head[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", head[i + 5 : i + 9])
                return ("jpeg", w, h)
            i += 2 + length
        return None
    return None


def sniff_file(path: str, limit: int = 65536) -> tuple[str, int, int] | None:
    with open(path, "rb") as fh:
        head = fh.read(4096)  # enough for every header renditions writes; more only if needed
        found = sniff(head)
        if found is None and len(head) == 4096:
            found = sniff(head + fh.read(limit - 4096))
    return found
