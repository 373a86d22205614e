"""Campaign templates: mistakes are caught at save time with part and line; sending never fails."""
from __future__ import annotations

import pytest

from chalicelib import errors
from chalicelib.rendering.campaign import compile_campaign
from chalicelib.rendering.compose import ListDetails, Recipient, SendContext, compose

FIELDS = ["first_name", "city", "points"]
CONTEXT = SendContext("acc_01jabc", "cmp_01jxyz", ListDetails(
    "lst_01jlist", "Bakery News", "Anna's Bakery", "news@bakery.example", "Main Street 1\nRiga LV-1010"))


def rejected(subject="Hello", html="<p>Hi</p>", text=None, fields=FIELDS) -> errors.Invalid:
    with pytest.raises(errors.Invalid) as caught:
        compile_campaign(subject, html, text, fields)
    return caught.value


def body_of(html: str, fields: dict, subject: str = "Hello", text: str | None = None):
    email = compose(compile_campaign(subject, html, text, FIELDS), Recipient("sub_1", "bob@example.com", fields),
                    CONTEXT)
    return email


def test_given_a_syntax_error_on_line_3_when_saved_then_the_error_names_html_and_line_3():
    error = rejected(html="<p>Hello</p>\n<p>there</p>\n<p>{{ first_name </p>")
    assert error.code == "template_error"
    assert error.message.startswith("html: line 3:")
    assert error.details == {"part": "html", "line": 3}


def test_given_a_misspelt_field_when_saved_then_the_error_names_it_and_lists_the_fields():
    error = rejected(html="<p>Hello</p>\n\n<p>{{ frist_name }}</p>")
    assert error.message.startswith("html: line 3: unknown variable 'frist_name'")
    assert "first_name" in error.message and "email" in error.message


@pytest.mark.parametrize("part, kwargs", [
    ("subject", {"subject": "Hi {{ nickname }}"}),
    ("text", {"text": "Hello\n{{ nickname }}"}),
])
def test_given_an_unknown_variable_in_subject_or_text_when_saved_then_that_part_is_named(part, kwargs):
    error = rejected(**kwargs)
    assert error.details["part"] == part
    assert "nickname" in error.message


@pytest.mark.parametrize("html, what", [
    ("<p>{{ first_name.__class__ }}</p>", "attribute access"),
    ("<p>{{ first_name['x'] }}</p>", "item access"),
    ("<p>{{ first_name.upper() }}</p>", "function call"),
    ("<p>{{ range(10) }}</p>", "function call"),
    ("<p>{% for c in first_name %}{{ c }}{% endfor %}</p>", "{% for %}"),
    ("<p>{{ first_name * 100000 }}</p>", "'*'"),
    ("<p>{{ 9 ** 9 ** 9 }}</p>", "'**'"),
    ("{% include 'other.html' %}", "{% include %}"),
    ("{% extends 'base.html' %}", "{% extends %}"),
    ("{% macro m() %}x{% endmacro %}", "{% macro %}"),
    ("{% autoescape false %}{{ first_name }}{% endautoescape %}", "{% autoescape %}"),
    ("<p>{{ first_name | safe }}</p>", "unknown filter 'safe'"),
])
def test_given_a_construct_outside_the_sandbox_when_saved_then_it_is_refused(html, what):
    error = rejected(html=html)
    assert error.code == "template_error"
    assert what in error.message


@pytest.mark.parametrize("name", ["_footer", "_click", "unsubscribe_url", "email"])
def test_given_an_assignment_to_a_reserved_name_when_saved_then_it_is_refused(name):
    error = rejected(html=f"<p>{{% set {name} = '' %}}</p>")
    assert f"'{name}' cannot be assigned" in error.message


def test_given_a_template_tag_inside_an_html_tag_when_saved_then_the_line_is_named():
    error = rejected(html="<p>x</p>\n<td {% if city %}class='a'{% endif %}>x</td>")
    assert error.details == {"part": "html", "line": 2}


def test_given_a_template_that_fails_even_without_values_when_saved_then_it_is_refused():
    error = rejected(html="<p>{{ 'a' < 1 }}</p>")
    assert "fails for a subscriber without custom values" in error.message


@pytest.mark.parametrize("fields", [{}, {"first_name": ""}, {"first_name": "   "}, {"first_name": None}])
def test_given_a_missing_or_empty_name_when_rendered_then_the_fallback_is_used(fields):
    email = body_of('<p>Hello {{ first_name | default("there") }}!</p>', fields,
                    subject='Hi {{ first_name | default("friend") }}')
    assert "Hello there!" in email.html
    assert "Hello there!" in email.text
    assert email.subject == "Hi friend"


def test_given_a_missing_field_without_fallback_when_rendered_then_it_renders_empty():
    email = body_of("<p>Hello {{ first_name }}!</p>", {})
    assert "Hello !" in email.html
    assert "None" not in email.html


def test_given_a_value_with_markup_when_rendered_then_html_escapes_it_and_text_keeps_it():
    email = body_of("<p>Hello {{ first_name }}</p>", {"first_name": "<b>Bob</b> & co"})
    assert "Hello &lt;b&gt;Bob&lt;/b&gt; &amp; co" in email.html
    assert "<b>Bob</b>" not in email.html
    assert "Hello <b>Bob</b> & co" in email.text


def test_given_conditionals_when_rendered_then_each_recipient_gets_their_branch():
    html = ('<table>{% if city == "Riga" %}<tr><td>Riga shop</td></tr>{% else %}<tr><td>Online</td></tr>'
            '{% endif %}</table>')
    assert "Riga shop" in body_of(html, {"city": "Riga"}).html
    online = body_of(html, {"city": "Tallinn"}).html
    assert "Online" in online and "Riga shop" not in online


def test_given_a_comparison_on_a_wrongly_typed_value_when_sent_then_the_recipient_gets_the_generic_copy():
    html = "<p>{% if points > 100 %}Gold member{% else %}Welcome{% endif %}</p>"
    assert "Gold member" in body_of(html, {"points": 150}).html
    assert "Welcome" in body_of(html, {"points": "lots"}).html   # str > int would raise: never at send time


def test_given_filters_on_odd_values_when_rendered_then_they_never_fail():
    html = ("<p>{{ first_name | truncate(5) }}|{{ points | round }}|{{ city | int }}|"
            "{{ first_name | upper }}|{{ city | replace('a', 'o') }}</p>")
    email = body_of(html, {"first_name": "Alexandra", "points": "n/a", "city": "Riga"})
    assert "<p>Alexandra|0|0|ALEXANDRA|Rigo</p>" in email.html


def test_given_a_value_that_would_explode_through_replace_when_rendered_then_output_stays_bounded():
    html = "<p>" + "{{ first_name | replace('a', 'aaaaaaaaaa') | replace('a', 'aaaaaaaaaa') }}" * 5 + "</p>"
    email = body_of(html, {"first_name": "a" * 1000})
    assert len(email.html) < 40_000


def test_given_a_subscriber_field_named_like_a_builtin_when_rendered_then_the_real_unsubscribe_link_wins():
    email = compose(compile_campaign("Hi", '<a href="{{ unsubscribe_url }}">Leave</a>', None,
                                     ["unsubscribe_url", "first_name"]),
                    Recipient("sub_1", "bob@example.com", {"unsubscribe_url": "https://evil.example/"}), CONTEXT)
    assert "evil.example" not in email.html
    assert email.html.count(email.unsubscribe_url) == 2   # the customer's link and the footer's


def test_given_a_newline_in_a_value_used_in_the_subject_when_sent_then_the_subject_stays_one_line():
    email = body_of("<p>x</p>", {"first_name": "Bob\r\nBcc: victim@example.com"}, subject="Hi {{ first_name }}")
    assert email.subject == "Hi Bob Bcc: victim@example.com"
    assert email.message["Bcc"] is None


def test_given_the_same_content_twice_when_compiled_then_the_cached_campaign_is_reused():
    first = compile_campaign("Hi", "<p>Cached {{ city }}</p>", None, ["city", "first_name"])
    again = compile_campaign("Hi", "<p>Cached {{ city }}</p>", None, ["first_name", "city"])
    other = compile_campaign("Hi", "<p>Cached {{ city }}!</p>", None, ["city", "first_name"])
    assert again is first
    assert other is not first and other.content_hash != first.content_hash


def test_given_a_recipient_that_falls_back_then_the_log_names_ids_and_never_the_address(monkeypatch):
    from chalicelib.log import logger

    logged = []
    monkeypatch.setattr(logger, "warning", lambda message, extra: logged.append((message, extra)))
    body_of("<p>{% if points > 100 %}Gold{% endif %}</p>", {"points": "lots", "first_name": "Bob"})
    assert logged == [("personalisation fell back to the generic copy", {
        "account_id": "acc_01jabc", "campaign_id": "cmp_01jxyz", "subscriber_id": "sub_1", "part": part,
        "reason": "TypeError"}) for part in ("html", "text")]
    assert "bob@example.com" not in repr(logged) and "Bob" not in repr(logged)
