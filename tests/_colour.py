"""Colour science for test oracles: sRGB → CIE L*a*b* (D65) and CIE76 ΔE."""

from __future__ import annotations


def _lin(c: float) -> float:
    c /= 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def srgb_to_lab(rgb) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an 8-bit sRGB colour."""
    r, g, b = (_lin(c) for c in rgb[:3])
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t):
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return (116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))


def delta_e76(c1, c2) -> float:
    """CIE76 ΔE: Euclidean distance in L*a*b*. Stricter than ΔE2000 for saturated colours."""
    return sum((a - b) ** 2 for a, b in zip(srgb_to_lab(c1), srgb_to_lab(c2))) ** 0.5
