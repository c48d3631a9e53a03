"""The lossless PNG writer: exact pixels back, libpng's filter rule, valid chunks."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from renditions.pngenc import encode_png, filter_rows


def reference_filters(x: np.ndarray) -> np.ndarray:
    """PNG spec filters and libpng's min-sum-of-abs choice, written the slow, obvious way."""
    h, w, bpp = x.shape
    rows = x.reshape(h, w * bpp).astype(np.int16)
    out = []
    prev = np.zeros(w * bpp, np.int16)
    for row in rows:
        a = np.concatenate([np.zeros(bpp, np.int16), row[:-bpp]])
        c = np.concatenate([np.zeros(bpp, np.int16), prev[:-bpp]])
        b = prev
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
        cands = [row, row - a, row - b, row - (a + b) // 2, row - paeth]
        cands = [(v % 256).astype(np.uint8) for v in cands]
        scores = [int(np.minimum(v, 256 - v.astype(np.int16)).sum()) for v in cands]
        best = int(np.argmin(scores))
        out.append(np.concatenate([[best], cands[best]]).astype(np.uint8))
        prev = row
    return np.array(out)


@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 7, 2), (33, 5, 3), (65, 31, 4), (100, 3, 3), (31, 1, 1)])
def test_filters_follow_the_spec_and_libpngs_choice(shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.integers(0, 256, shape, dtype=np.uint8)
    x[::3] //= 7  # smooth rows too, so every filter gets chosen somewhere
    assert (filter_rows(x) == reference_filters(x)).all()


@pytest.mark.parametrize("bands,mode", [(1, "L"), (2, "LA"), (3, "RGB"), (4, "RGBA")])
@pytest.mark.parametrize("adaptive", [True, False])
def test_pixels_come_back_exactly(bands, mode, adaptive):
    rng = np.random.default_rng(bands)
    x = rng.integers(0, 256, (47, 53, bands), dtype=np.uint8)
    data = encode_png(x, 6, adaptive)
    im = Image.open(io.BytesIO(data))
    im.load()
    assert im.mode == mode and im.size == (53, 47)
    assert (np.asarray(im).reshape(x.shape) == x).all()


def test_chunks_are_ihdr_idat_iend_with_valid_crcs():
    x = np.zeros((10, 10, 3), np.uint8)
    data = encode_png(x)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    i, kinds = 8, []
    while i < len(data):
        (n,) = struct.unpack(">I", data[i : i + 4])
        kind, body = data[i + 4 : i + 8], data[i + 8 : i + 8 + n]
        (crc,) = struct.unpack(">I", data[i + 8 + n : i + 12 + n])
        assert crc == zlib.crc32(kind + body)
        kinds.append(kind)
        i += 12 + n
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]


def test_adaptive_filters_make_smooth_images_smaller():
    y, x = np.mgrid[0:200, 0:300]
    img = np.stack([(x + y) % 256, (2 * x) % 256, (3 * y) % 256], axis=2).astype(np.uint8)
    assert len(encode_png(img, 6, True)) < len(encode_png(img, 6, False)) / 2


@pytest.mark.parametrize("bands,mode", [(2, "L"), (4, "RGB")])
def test_an_alpha_band_opaque_everywhere_is_left_out(bands, mode):
    rng = np.random.default_rng(bands)
    x = rng.integers(0, 256, (40, 30, bands), dtype=np.uint8)
    x[:, :, -1] = 255
    im = Image.open(io.BytesIO(encode_png(x)))
    assert im.mode == mode and (np.asarray(im).reshape(40, 30, bands - 1) == x[:, :, :-1]).all()
    x[39, 29, -1] = 254  # one pixel not quite opaque: the alpha band stays
    im = Image.open(io.BytesIO(encode_png(x)))
    assert im.mode == {2: "LA", 4: "RGBA"}[bands] and (np.asarray(im).reshape(x.shape) == x).all()
