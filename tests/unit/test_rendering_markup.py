"""Campaign HTML processing: the derived plain text, the link table, and HTML that parsing would break."""
from __future__ import annotations

import pytest

from chalicelib import errors
from chalicelib.rendering.campaign import compile_campaign, extract_links
from chalicelib.rendering.plaintext import html_to_text


def test_given_a_newsletter_then_its_text_reads_like_a_plain_email():
    html = """<html><head><title>Ignored</title><style>p { color: red }</style></head><body>
    <div style="display:none; max-height:0">Preheader only the inbox shows</div>
    <h1>Autumn&nbsp;news</h1><p>Rye is   back.<br>Buns too &amp; more.</p>
    <ul><li>Rye</li><li>Buns</li></ul><ol><li>Mix</li><li>Bake</li></ol>
    <p><a href="https://bakery.example/"><img src="logo.png" alt="Anna's Bakery"></a>
    <a href="https://bakery.example/menu">https://bakery.example/menu</a></p>
    <script>alert(1)</script><hr><p>Bye</p></body></html>"""
    assert html_to_text(html) == (
        "Autumn news\n\nRye is back.\nBuns too & more.\n\n- Rye\n- Buns\n\n1. Mix\n2. Bake\n\n"
        "Anna's Bakery (https://bakery.example/) https://bakery.example/menu\n\n"
        + "-" * 40 + "\n\nBye\n"
    )


@pytest.mark.parametrize("href", [
    "mailto:anna@bakery.example", "tel:+371200", "#top", "/relative/path", "javascript:alert(1)",
    "ftp://files.example/x", "{{ unsubscribe_url }}", "https://shop.example/?u={{ email | urlencode }}",
    "https://mailroom.test.invalid/unsubscribe/abc",
])
def test_given_a_link_that_must_not_be_tracked_then_it_is_not_in_the_table(href):
    assert extract_links(f'<a href="{href}">x</a>') == []


def test_given_tracked_links_then_the_table_is_distinct_in_document_order_and_clean():
    html = ('<a href=" https://b.example/2 ">b</a><a href="HTTPS://a.example/1">a</a>'
            '<map><area href="https://c.example/3"></map><a href="https://b.example/2">again</a>'
            '<a href="https://b.example/&#10;x">split</a><a href="https://bäckerei.example/brot?q=süß">idn</a>')
    assert extract_links(html) == ["https://b.example/2", "HTTPS://a.example/1", "https://c.example/3",
                                   "https://b.example/x", "https://xn--bckerei-5wa.example/brot?q=s%C3%BC%C3%9F"]


def test_given_a_block_tag_in_an_element_html_parsing_drops_then_the_line_is_named():
    with pytest.raises(errors.Invalid) as caught:
        compile_campaign("Hi", '<p>x</p>\n<td class="{% if city %}a{% endif %}">y</td>', None, ["city"])
    assert caught.value.details == {"part": "html", "line": 2}
    assert "moves or drops" in caught.value.message


def test_given_a_value_between_table_rows_then_it_lands_where_a_browser_would_put_it():
    compiled = compile_campaign("Hi", "<table><tr><td>a</td></tr>{{ city }}</table>", None, ["city"])
    html = compiled.html.render({"city": "Riga", "_click": [], "_footer": ""})
    assert "<body>Riga<table>" in html


def test_given_an_original_doctype_then_it_is_kept():
    doctype = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
               '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">')
    compiled = compile_campaign("Hi", doctype + "<html><body><p>x</p></body></html>", None, [])
    assert compiled.html.render({"_click": [], "_footer": ""}).startswith(doctype + "<html>")


def test_given_a_remote_stylesheet_then_it_is_not_fetched_and_not_kept():
    compiled = compile_campaign("Hi", '<link rel="stylesheet" href="http://169.254.169.254/latest/x.css">'
                                      "<p>x</p>", None, [])
    assert "169.254.169.254" not in compiled.html.render({"_click": [], "_footer": ""})


def test_given_marker_characters_written_as_entities_then_they_cannot_repeat_the_footer():
    compiled = compile_campaign("Hi", "<p>{{ city }} &#xe000;1&#xe001; &#57344;2&#57345;</p>", None, ["city"])
    html = compiled.html.render({"city": "Riga", "_click": [], "_footer": "FOOTER"})
    assert html.count("FOOTER") == 1 and html.count("Riga") == 1
