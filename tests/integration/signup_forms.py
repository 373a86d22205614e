"""Helpers for tests of the hosted signup form and the preference centre: posts made as a browser makes them."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest

from chalicelib import clock
from chalicelib.services.audience import links
from tests.integration.listing import make_list, path_of

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
STAMP = "form-stamp"
FIELDS = [{"key": "first_name", "label": "First name", "type": "text"},
          {"key": "age", "label": "Age", "type": "number"},
          {"key": "birthday", "label": "Birthday", "type": "date"},
          {"key": "vip", "label": "Send me VIP offers", "type": "boolean"}]


@pytest.fixture
def owner(tenant):
    return tenant()


@pytest.fixture
def single(client, owner):
    """A single opt-in list with a field of every type."""
    return make_list(client, owner, name="Acme Weekly", double_opt_in=False, fields=FIELDS)


@pytest.fixture
def double(client, owner):
    """A double opt-in list with a field of every type."""
    return make_list(client, owner, name="Acme Insiders", double_opt_in=True, reply_to="editor@acme.example",
                     fields=FIELDS)


def html(answer) -> str:
    body = answer.body
    return body.decode() if isinstance(body, bytes) else body


def form_path(owner, contact_list) -> str:
    return path_of(links.form_url(owner.account_id, contact_list["id"]))


def stamp_for(path: str, age: timedelta = timedelta(minutes=1)) -> str:
    """The stamp the hosted form at `path` would have handed out `age` ago."""
    ref = links.read_form(path.rsplit("/", 1)[-1])
    assert ref is not None, path
    return links.form_stamp(ref.account_id, ref.list_id, clock.now() - age)


def post_form(client, path: str, **values):
    """Submit the form as a person who took a minute to fill it in (unless `values` carries its own stamp)."""
    if STAMP not in values and path.startswith("/f/"):
        ref = links.read_form(path.rsplit("/", 1)[-1])
        if ref is not None:
            values[STAMP] = stamp_for(path)
    return client.http.post(path, headers=FORM, body=urlencode(values))


def stamp_in(page: str) -> str:
    """The stamp a form page (or an embeddable form) carries."""
    import re

    found = re.search(rf'name="{STAMP}" value="([^"]+)"', page)
    assert found, "the form carries no stamp"
    return found.group(1)
