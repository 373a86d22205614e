"""Pure parts of open and click tracking and of the report: the pixel, the country header, rates."""
from __future__ import annotations

import struct

import pytest

from chalicelib.handlers.tracking import PIXEL
from chalicelib.services.feedback.reports import rate
from chalicelib.services.feedback.tracking import country_code


def test_the_pixel_is_a_43_byte_transparent_one_by_one_gif89a():
    assert len(PIXEL) == 43
    assert PIXEL[:6] == b"GIF89a" and PIXEL[-1:] == b";"
    width, height, flags = struct.unpack("<HHB", PIXEL[6:11])
    assert (width, height) == (1, 1)
    assert flags & 0x80   # a global colour table
    extension = PIXEL.index(b"\x21\xf9\x04")
    gce_flags, _, transparent_index = struct.unpack("<BHB", PIXEL[extension + 3:extension + 7])
    assert gce_flags & 0x01 and transparent_index == 0
    # LZW (min code size 2): clear (4), pixel index 0, end (5), packed into 0x44 0x01
    assert PIXEL[-6:-1] == bytes([2, 2, 0x44, 0x01, 0])


@pytest.mark.parametrize("header, expected", [
    ("IE", "IE"), ("de", "DE"), (" fr ", "FR"), (None, None), ("", None), ("XX", None), ("T1", None),
    ("Ireland", None), ("IRL", None),
])
def test_the_country_is_an_assigned_iso_code_from_cloudfront_or_nothing(header, expected):
    assert country_code(header) == expected


@pytest.mark.parametrize("part, whole, expected", [(0, 0, 0.0), (5, 0, 0.0), (1, 3, 0.3333), (2, 8, 0.25),
                                                   (8, 8, 1.0)])
def test_rates_are_fractions_of_sent_and_zero_before_anything_was_sent(part, whole, expected):
    assert rate(part, whole) == expected
