"""Lossless 8-bit PNG writer: libpng's adaptive row filters, computed with numpy, deflated by libdeflate.

libvips' PNG saver (libpng + zlib) spends a third of its time choosing row filters one byte at a
time and the rest in zlib. The same choice made on whole blocks of rows in numpy, and libdeflate
instead of zlib, give 0.7 % fewer bytes for about half the CPU (BENCHMARKS.md). The file holds
IHDR, one IDAT and IEND: no metadata, no colour chunks (untagged PNG is sRGB on the web). An alpha
band that is 255 everywhere is left out (the same pixels on every page, as oxipng reduces them):
RGBA exports of opaque pictures are common, and their files are about a tenth smaller without it.
"""

from __future__ import annotations

import struct

import deflate
import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # bands -> grey, grey + alpha, RGB, RGBA
_BLOCK = 32  # rows filtered at a time: the scratch arrays stay in cache


def encode_png(pixels: np.ndarray, level: int = 6, adaptive: bool = True) -> bytes:
    """`pixels`: uint8, (height, width, bands) with 1 to 4 bands. `level`: libdeflate's 0-12."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in _COLOUR_TYPE:
        raise ValueError(f"expected uint8 pixels of shape (height, width, 1-4), got {pixels.dtype} {pixels.shape}")
    height, width, bands = pixels.shape
    if bands in (2, 4) and pixels[:, :, bands - 1].min() == 255:
        bands -= 1
        pixels = np.ascontiguousarray(pixels[:, :, :bands])
    if adaptive:
        rows = filter_rows(pixels)
    else:
        rows = np.zeros((height, 1 + width * bands), np.uint8)
        rows[:, 1:] = pixels.reshape(height, width * bands)
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPE[bands], 0, 0, 0)
    return b"".join(
        (_SIGNATURE, _chunk(b"IHDR", header), _chunk(b"IDAT", deflate.zlib_compress(rows, level)), _chunk(b"IEND", b""))
    )


def encode_png_raw(data, width: int, height: int, bands: int, level: int = 6, adaptive: bool = True) -> bytes:
    """encode_png for interleaved 8-bit pixels in a buffer (what both engines hold)."""
    return encode_png(np.frombuffer(data, np.uint8).reshape(height, width, bands), level, adaptive)


def _chunk(kind: bytes, data: bytes | bytearray) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", deflate.crc32(data, deflate.crc32(kind)))


def filter_rows(pixels: np.ndarray) -> np.ndarray:
    """Each row gets the filter (None, Sub, Up, Average, Paeth) whose output has the smallest
    sum of absolute values as signed bytes: libpng's rule, so libpng's bytes. Returns the
    (height, 1 + width * bands) filtered scanlines, filter type first."""
    height, width, bpp = pixels.shape
    size = width * bpp
    x = pixels.reshape(height, size)
    out = np.empty((height, 1 + size), np.uint8)
    # a block of rows with the row above it and `bpp` zero bytes on the left: a, b, c are views
    pad = np.zeros((_BLOCK + 1, size + bpp), np.uint8)
    cand = np.empty((5, _BLOCK, size), np.uint8)
    scratch = np.empty((5, _BLOCK, size), np.uint8)
    pa, pb, pc, t, u = np.empty((5, _BLOCK, size), np.uint8)
    m1, m2, m3 = np.empty((3, _BLOCK, size), bool)
    sums = np.empty((5, _BLOCK), np.uint32)
    index = np.arange(_BLOCK)
    for r0 in range(0, height, _BLOCK):
        n = min(height, r0 + _BLOCK) - r0
        if r0:
            pad[0, bpp:] = x[r0 - 1]
        pad[1 : n + 1, bpp:] = x[r0 : r0 + n]
        cur, a = pad[1 : n + 1, bpp:], pad[1 : n + 1, :size]
        b, c = pad[:n, bpp:], pad[:n, :size]
        f = cand[:, :n]
        PA, PB, PC, T, U, M1, M2, M3 = pa[:n], pb[:n], pc[:n], t[:n], u[:n], m1[:n], m2[:n], m3[:n]
        f[0] = cur
        np.subtract(cur, a, out=f[1])
        np.subtract(cur, b, out=f[2])
        # Average: floor((a + b) / 2) in 8 bits is (a & b) + ((a ^ b) >> 1)
        np.bitwise_and(a, b, out=T)
        np.bitwise_xor(a, b, out=U)
        np.right_shift(U, 1, out=U)
        np.add(T, U, out=T)
        np.subtract(cur, T, out=f[3])
        # Paeth in 8 bits: |p-a| = |b-c|, |p-b| = |a-c|, and |p-c| = |(b-c) + (a-c)|, which is
        # pa + pb (never smaller than either) when the two differences share a sign, else |pa-pb|.
        _absdiff(b, c, PA, T)
        _absdiff(a, c, PB, T)
        _absdiff(PA, PB, PC, T)
        np.greater_equal(b, c, out=M1)
        np.greater_equal(a, c, out=M2)
        np.equal(M1, M2, out=M1)
        np.negative(M1.view(np.uint8), out=U)  # 255 where the signs agree
        np.bitwise_or(PC, U, out=PC)
        # predictor: a if pa <= pb and pa <= pc, else b if pb <= pc, else c
        np.less_equal(PA, PB, out=M1)
        np.less_equal(PA, PC, out=M3)
        np.logical_and(M1, M3, out=M1)
        np.less_equal(PB, PC, out=M2)
        np.copyto(T, c)
        _blend(M2, b, T, U, PA)
        _blend(M1, a, T, U, PA)
        np.subtract(cur, T, out=f[4])
        # score: sum of |byte as int8| = min(v, 256 - v)
        s = scratch[:, :n]
        np.negative(f, out=s)
        np.minimum(f, s, out=s)
        s.sum(axis=2, dtype=np.uint32, out=sums[:, :n])
        best = sums[:, :n].argmin(axis=0)
        out[r0 : r0 + n, 0] = best
        out[r0 : r0 + n, 1:] = f[best, index[:n]]
    return out


def _absdiff(x: np.ndarray, y: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> None:
    np.maximum(x, y, out=out)
    np.minimum(x, y, out=tmp)
    np.subtract(out, tmp, out=out)


def _blend(mask: np.ndarray, x: np.ndarray, y: np.ndarray, tmp: np.ndarray, work: np.ndarray) -> None:
    """y = x where mask, in place, without branches (a masked copy is 20x slower on noisy masks)."""
    np.negative(mask.view(np.uint8), out=tmp)  # 0 or 255
    np.bitwise_xor(x, y, out=work)
    np.bitwise_and(work, tmp, out=work)
    np.bitwise_xor(y, work, out=y)
