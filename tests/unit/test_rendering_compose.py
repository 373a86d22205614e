"""One recipient's email, read back as a mail client would: headers, parts, links, footer, tracking."""
from __future__ import annotations

import email
import re
from email.policy import default
from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest

from chalicelib import errors
from chalicelib.rendering import mime, tracking
from chalicelib.rendering.campaign import compile_campaign, extract_links
from chalicelib.rendering.compose import ListDetails, Recipient, SendContext, compose, compose_test
from chalicelib.services.audience import links as public_links

PUBLIC = "https://mailroom.test.invalid"
FIELDS = ["first_name", "city"]
LIST = ListDetails("lst_01jlist", "Bakery News", "Anna's Bakery", "news@bakery.example",
                   "Anna's Bakery SIA\nMain Street 1\nRiga LV-1010, Latvia", reply_to="anna@bakery.example")
CONTEXT = SendContext("acc_01jabc", "cmp_01jxyz", LIST)
BOB = Recipient("sub_0123abcd", "bob@example.com", {"first_name": "Bob"})

NEWSLETTER = """<!DOCTYPE html>
<html><head><style>
  p { color: #333333; font-family: Georgia, serif; }
  .cta { background: #b5562b; color: #ffffff; }
  @media (max-width: 600px) { p { font-size: 18px !important; } }
</style></head>
<body>
<p>Hello {{ first_name | default("there") }},</p>
<p>Our <a href="https://bakery.example/rye?utm_source=news&amp;utm_medium=email">new rye loaf</a> is out.</p>
<p><a class="cta" href="https://bakery.example/order">Order now</a> or
   <a href="https://bakery.example/rye?utm_source=news&amp;utm_medium=email">read about it</a>.</p>
<p>Questions? <a href="mailto:anna@bakery.example">Write to Anna</a> or call <a href="tel:+37120000000">us</a>.</p>
<p><a href="#recipes">Recipes below</a> and <a href="{{ unsubscribe_url }}">leave the list</a>.</p>
<p>Visit <a href="https://maps.example/anna?q={{ city }}">your shop</a>.</p>
</body></html>"""


def read(composed) -> email.message.EmailMessage:
    return email.message_from_bytes(composed.as_bytes(), policy=default)


def parts(message) -> tuple[str, str]:
    """(text, html) as a mail client shows them (line ends normalised)."""
    return tuple(message.get_body((kind,)).get_content().replace("\r\n", "\n") for kind in ("plain", "html"))


def hrefs(html: str) -> list[str]:
    return re.findall(r'<a [^>]*href="([^"]*)"', html)


def token(url: str) -> str:
    return urlparse(url).path.rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def newsletter():
    return compile_campaign("News for {{ first_name | default('you') }}", NEWSLETTER, None, FIELDS)


@pytest.fixture(scope="module")
def bobs(newsletter):
    return read(compose(newsletter, BOB, CONTEXT))


class Ancestry(HTMLParser):
    """The open elements (tag, style) around the first occurrence of a text."""

    VOID = frozenset({"br", "img", "meta", "link", "hr", "input", "area", "base", "col", "wbr", "source"})

    def __init__(self, needle: str):
        super().__init__()
        self.needle, self.stack, self.found = needle, [], None

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append((tag, dict(attrs).get("style") or ""))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self.found is None and self.needle in data:
            self.found = list(self.stack)


def ancestors(html: str, text: str) -> list[tuple[str, str]]:
    parser = Ancestry(text)
    parser.feed(html)
    assert parser.found is not None, f"{text!r} not in the HTML"
    return parser.found


def test_given_a_campaign_when_composed_then_the_headers_are_what_mailbox_providers_expect(bobs):
    assert bobs["From"] == "Anna's Bakery <news@bakery.example>"
    assert bobs["To"] == "bob@example.com"
    assert bobs["Subject"] == "News for Bob"
    assert bobs["Reply-To"] == "anna@bakery.example"
    assert bobs["Date"] is not None
    assert re.fullmatch(r"<[^@>]+@bakery\.example>", bobs["Message-ID"])
    assert bobs["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert bobs["List-Id"] == '"Bakery News" <lst_01jlist.mailroom.localhost>'
    assert bobs["Feedback-ID"] == "acc_01jabc:cmp_01jxyz:mailroom"
    assert bobs["Precedence"] is None
    assert bobs.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in bobs.iter_parts()] == ["text/plain", "text/html"]


def test_given_a_composed_email_then_list_unsubscribe_is_one_https_url_the_public_page_accepts(bobs):
    raw = bobs["List-Unsubscribe"]
    match = re.fullmatch(r"<(https://[^>\s]+)>", raw)
    assert match, raw
    assert match.group(1).startswith(f"{PUBLIC}/unsubscribe/")
    assert public_links.read_unsubscribe(token(match.group(1))) == public_links.SubscriberRef(
        "acc_01jabc", "lst_01jlist", "sub_0123abcd", "cmp_01jxyz")   # the campaign counts the unsubscribe


def test_given_a_composed_email_then_the_raw_list_unsubscribe_header_is_one_unencoded_line(newsletter):
    raw = compose(newsletter, BOB, CONTEXT).as_bytes()
    line = next(each for each in raw.split(b"\r\n") if each.startswith(b"List-Unsubscribe:"))
    assert re.fullmatch(rb"List-Unsubscribe: <https://mailroom\.test\.invalid/unsubscribe/[\w.-]+>", line)
    assert b"\n" not in raw.replace(b"\r\n", b"")   # CRLF line ends throughout


def test_given_any_content_then_both_parts_end_with_unsubscribe_link_address_and_credit(bobs):
    text, html = parts(bobs)
    unsubscribe = bobs["List-Unsubscribe"][1:-1]
    footer = html[html.index("You receive this email"):]
    assert f'href="{unsubscribe}"' in footer
    assert "Main Street 1<br>Riga LV-1010, Latvia" in footer
    assert "Email marketing by mailroom" in footer
    text_footer = text[text.index("\n-- \n"):]
    assert f"Unsubscribe: {unsubscribe}" in text_footer
    assert "Main Street 1\nRiga LV-1010, Latvia" in text_footer
    assert text_footer.rstrip().endswith("Email marketing by mailroom")


def test_given_a_pro_account_then_the_credit_is_left_out_but_unsubscribe_and_address_stay(newsletter):
    text, html = parts(read(compose(newsletter, BOB, SendContext("acc_01jabc", "cmp_01jxyz", LIST, pro=True))))
    assert "Email marketing by mailroom" not in html and "Email marketing by mailroom" not in text
    assert "/unsubscribe/" in html[html.index("You receive this email"):]
    assert "Main Street 1" in text[text.index("\n-- \n"):]


def test_given_an_unclosed_hidden_div_then_the_footer_is_outside_it_and_visible():
    compiled = compile_campaign("Hi", '<p>News</p><div style="display:none"><p>preheader', None, [])
    html = parts(read(compose(compiled, BOB, CONTEXT)))[1]
    around = ancestors(html, "Email marketing by mailroom")
    assert [tag for tag, _ in around][:2] == ["html", "body"]
    assert not any("display:none" in style.replace(" ", "") for _, style in around)
    assert "display:block !important" in around[-1][1]


def test_given_a_stylesheet_that_hides_tables_and_links_then_the_footer_is_not_hidden():
    compiled = compile_campaign("Hi", "<style>table, td, p, a { display: none; font-size: 0; }</style>"
                                      "<table><tr><td><p>News</p></td></tr></table>", None, [])
    html = parts(read(compose(compiled, BOB, CONTEXT)))[1]
    around = ancestors(html, "Email marketing by mailroom")
    assert not any("display: none" in style or "display:none" in style for _, style in around)
    assert '<td style="display: none;font-size: 0;"><p style="display: none;font-size: 0;">News' in html


def test_given_content_with_a_plaintext_tag_then_the_footer_is_not_swallowed_as_source():
    compiled = compile_campaign("Hi", "<p>News</p><plaintext><p>rest", None, [])
    html = parts(read(compose(compiled, BOB, CONTEXT)))[1]
    assert "<plaintext" not in html.lower()
    assert "Email marketing by mailroom" in html


def test_given_a_style_block_then_css_is_inlined_and_media_queries_kept(bobs):
    html = parts(bobs)[1]
    assert '<p style="color: #333333;font-family: Georgia, serif;">Hello Bob,</p>' in html
    assert "background: #b5562b" in html
    assert "@media (max-width: 600px)" in html


def test_given_links_then_the_link_table_holds_distinct_tracked_urls_in_order(newsletter):
    assert newsletter.links == ("https://bakery.example/rye?utm_source=news&utm_medium=email",
                                "https://bakery.example/order")
    assert extract_links(NEWSLETTER) == list(newsletter.links)


def test_given_links_then_http_links_go_through_signed_click_urls_and_others_stay(bobs, newsletter):
    html = parts(bobs)[1]
    body = html[:html.index("You receive this email")]
    found = hrefs(body)
    clicks = [h for h in found if h.startswith(f"{PUBLIC}/c/")]
    assert len(clicks) == 3
    assert [tracking.verify_click(token(h)) for h in clicks] == [
        ("acc_01jabc", "cmp_01jxyz", "sub_0123abcd", 0),
        ("acc_01jabc", "cmp_01jxyz", "sub_0123abcd", 1),
        ("acc_01jabc", "cmp_01jxyz", "sub_0123abcd", 0),
    ]
    assert "mailto:anna@bakery.example" in found and "tel:+37120000000" in found and "#recipes" in found
    assert bobs["List-Unsubscribe"][1:-1] in found            # the customer's own unsubscribe link
    assert "https://maps.example/anna?q=" in found            # personalised: not in the table, not tracked
    assert not any("bakery.example/order" in h or "bakery.example/rye" in h for h in found)
    assert all("bakery.example" not in token(h) for h in clicks)


def test_given_a_click_token_then_tampering_or_another_purpose_is_refused(bobs):
    html = parts(bobs)[1]
    click = token(next(h for h in hrefs(html) if h.startswith(f"{PUBLIC}/c/")))
    assert tracking.verify_click(click[:-2] + ("A" if click[-2] != "A" else "B") + click[-1]) is None
    assert tracking.verify_click(token(bobs["List-Unsubscribe"][1:-1])) is None
    assert tracking.verify_open(click) is None


def test_given_a_composed_email_then_the_open_pixel_is_last_and_names_the_recipient(bobs):
    html = parts(bobs)[1]
    pixel = re.search(r'<img src="(https://mailroom\.test\.invalid/o/([^"]+))" width="1" height="1" alt="">'
                      r"</body></html>\s*$", html)
    assert pixel, html[-300:]
    assert tracking.verify_open(pixel.group(2)) == ("acc_01jabc", "cmp_01jxyz", "sub_0123abcd")


def test_given_no_text_part_then_one_is_derived_with_links_readable_as_text_and_url(bobs):
    text = parts(bobs)[0]
    assert text.startswith("Hello Bob,\n\nOur new rye loaf (https://mailroom.test.invalid/c/")
    assert "Write to Anna (anna@bakery.example)" in text
    assert "Recipes below and leave the list (https://mailroom.test.invalid/unsubscribe/" in text
    assert "<p>" not in text and "{{" not in text and "color:" not in text
    clicks = re.findall(r"\((https://mailroom\.test\.invalid/c/[^)]+)\)", text)
    assert [tracking.verify_click(token(c))[3] for c in clicks] == [0, 1, 0]


def test_given_a_text_part_then_its_urls_point_to_the_same_click_urls_and_new_ones_join_the_table():
    compiled = compile_campaign("Hi", '<a href="https://bakery.example/order">Order</a>',
                                "Hi {{ first_name }}, order at https://bakery.example/order.\n"
                                "Recipes: https://bakery.example/recipes\nMail anna@bakery.example",
                                FIELDS)
    assert compiled.links == ("https://bakery.example/order", "https://bakery.example/recipes")
    text = parts(read(compose(compiled, BOB, CONTEXT)))[0]
    urls = re.findall(r"https://mailroom\.test\.invalid/c/[\w.-]*[\w-]", text)
    assert [tracking.verify_click(token(u))[3] for u in urls] == [0, 1]
    assert text.startswith("Hi Bob, order at https://mailroom.test.invalid/c/")
    assert "/order." not in text and "\nMail anna@bakery.example\n" in text


def test_given_a_test_send_then_the_subject_is_marked_and_tokens_name_the_test_subscriber(newsletter):
    composed = compose_test(newsletter, "qa@bakery.example", CONTEXT, {"first_name": "Anna"})
    message = read(composed)
    assert message["Subject"] == "[Test] News for Anna"
    assert message["To"] == "qa@bakery.example"
    assert public_links.read_unsubscribe(token(message["List-Unsubscribe"][1:-1])).subscriber_id == "test"
    click = next(h for h in hrefs(composed.html) if h.startswith(f"{PUBLIC}/c/"))
    assert tracking.is_test(tracking.verify_click(token(click))[2])
    assert {"Name": "subscriber", "Value": "test"} in composed.tags


def test_given_ids_then_ses_tags_carry_them_and_odd_values_are_encoded_reversibly(newsletter):
    composed = compose(newsletter, BOB, CONTEXT)
    assert composed.tags == [{"Name": "account", "Value": "acc_01jabc"}, {"Name": "campaign", "Value": "cmp_01jxyz"},
                             {"Name": "subscriber", "Value": "sub_0123abcd"}]
    for odd in ("acc:01/j", "b64-looks-encoded", "ünï"):
        value = mime.tag_value(odd)
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value)
        assert mime.read_tag_value(value) == odd


def test_given_non_ascii_names_then_headers_are_encoded_and_read_back_intact(newsletter):
    listed = ListDetails("lst_01jlist", "Maiznīca “Ziņas”", "Anna Bērziņa", "news@bakery.example", "Rīga")
    message = read(compose(newsletter, Recipient("sub_1", "janis@bakery.example", {"first_name": "Jānis"}),
                           SendContext("acc_1", "cmp_1", listed)))
    assert message["From"] == "Anna Bērziņa <news@bakery.example>"
    assert message["Subject"] == "News for Jānis"
    assert message["List-Id"].endswith(" <lst_01jlist.mailroom.localhost>")
    assert "Maiznīca" in message["List-Id"]
    text, html = parts(message)
    assert "Rīga" in text and "Rīga" in html


def test_given_an_address_that_cannot_be_put_in_a_header_then_compose_says_so(newsletter):
    with pytest.raises(errors.Invalid) as caught:
        compose(newsletter, Recipient("sub_1", "not-an-address", {}), CONTEXT)
    assert caught.value.code == "invalid_address"


def test_given_html_over_the_gmail_clipping_limit_when_saved_then_it_is_refused_with_the_limit():
    with pytest.raises(errors.Invalid) as caught:
        compile_campaign("Hi", "<p>" + "fresh bread " * 9000 + "</p>", None, [])
    assert caught.value.code == "too_large"
    assert "102 KB" in caught.value.message and "100 KB" in caught.value.message


def test_given_a_fragment_without_body_then_the_email_is_a_whole_document_with_the_footer_in_its_body():
    compiled = compile_campaign("Hi", "<p>Just a fragment {{ first_name }}</p>", None, FIELDS)
    html = parts(read(compose(compiled, BOB, CONTEXT)))[1]
    assert html.startswith("<html><head></head><body><p>Just a fragment Bob</p>")
    assert [tag for tag, _ in ancestors(html, "Email marketing by mailroom")][:2] == ["html", "body"]


def test_given_literal_braces_written_as_entities_then_they_show_and_are_not_evaluated():
    compiled = compile_campaign("Hi", "<p>Use &#123;&#123; name &#125;&#125; in templates, {{ first_name }}</p>",
                                None, FIELDS)
    text, html = parts(read(compose(compiled, BOB, CONTEXT)))
    assert "Use {{ name }} in templates, Bob" in html
    assert "Use {{ name }} in templates, Bob" in text


def test_given_a_composed_email_then_its_bytes_are_exactly_what_the_email_package_generates(newsletter):
    composed = compose(newsletter, BOB, CONTEXT)
    assert composed.as_bytes() == composed.message.as_bytes()
