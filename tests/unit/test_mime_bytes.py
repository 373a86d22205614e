"""The raw bytes of an email are what the standard `email` generator writes for it, byte for byte: mime.as_bytes
writes them directly (it skips parsing the headers again), so nothing a mail client reads may differ."""
from __future__ import annotations

import io
from email.generator import Generator

import pytest

from chalicelib.rendering import mime
from chalicelib.rendering.campaign import compile_campaign
from chalicelib.rendering.compose import ListDetails, Recipient, SendContext, compose

LONG_LINE = "<p>" + "word " * 700 + "</p>"   # one line longer than 998 characters: quoted-printable folds it
CASES = {
    "ascii": ("News for {{ first_name }}", "<p>Hello {{ first_name }}, <a href='https://a.example/x'>read</a></p>"),
    "accents and emoji": ("Grüße aus Rīga, {{ first_name }} 🍞 " + "long subject " * 8,
                          "<p>Labdien, {{ first_name }}! Smørrebrød = €4 — “quoted”\ttab</p>\r\n<p>trailing \n</p>"),
    "long lines": ("Long", LONG_LINE + "<a href='https://a.example/y'>y</a>" + LONG_LINE),
}


def standard_bytes(message) -> bytes:
    out = io.StringIO()
    Generator(out, mangle_from_=False, policy=message.policy).flatten(message)
    return out.getvalue().encode("ascii")


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_bytes_written_are_the_standard_generators(case):
    # Given a campaign email with or without non-ASCII text, long lines and a Reply-To
    subject, html = CASES[case]
    compiled = compile_campaign(subject, html, None, ["first_name"])
    listed = ListDetails("lst_1", "Bäckerei News", "Anna's Bäckerei", "news@bakery.example",
                         "Main Street 1\nRiga LV-1010", reply_to="anna@bakery.example")
    composed = compose(compiled, Recipient("sub_1", "bob@example.com", {"first_name": "Zoë"}),
                       SendContext("acc_1", "cmp_1", listed))

    # When it is written for SES, Then its bytes are exactly the email package's own
    assert mime.as_bytes(composed.message) == standard_bytes(composed.message)
