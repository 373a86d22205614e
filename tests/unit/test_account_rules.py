"""Account rules that need no storage: signup and plan validation, passwords, countries, tokens, emails."""
from __future__ import annotations

import pytest

from chalicelib import errors
from chalicelib.services.accounts import account_mail, auth, signup, staff
from chalicelib.services.accounts.audit import Origin
from chalicelib.services.countries import country_code


class RefusingMailer:
    def send(self, email):
        raise AssertionError("nothing should be sent for a refused signup")


def signup_input(**changes) -> signup.SignupInput:
    profile = {"company": "Acme", "first_name": "Ada", "last_name": "Lovelace", "country": "IE"}
    values = {"email": "ada@example.com", "password": "long-enough", "accept_terms": True, "profile": profile}
    values.update(changes)
    return signup.SignupInput(**values)


@pytest.mark.parametrize("data, code", [
    (signup_input(accept_terms=False), "terms_not_accepted"),
    (signup_input(email="nobody"), "invalid_email"),
    (signup_input(password="1234567"), "password_too_short"),
    (signup_input(password="x" * 257), "password_too_long"),
    (signup_input(profile={"company": "Acme", "first_name": "Ada", "last_name": "L"}), "invalid_field"),
    (signup_input(profile={"company": " ", "first_name": "Ada", "last_name": "L", "country": "IE"}), "invalid_field"),
    (signup_input(profile={"company": "A", "first_name": "Ada", "last_name": "L", "country": "ZZ"}),
     "invalid_country"),
    (signup_input(profile={"company": "A", "first_name": "A", "last_name": "L", "country": "IE", "plan": "payg"}),
     "unknown_field"),
])
def test_a_signup_that_breaks_a_rule_is_refused_before_anything_is_stored(data, code):
    with pytest.raises(errors.Invalid) as refused:
        signup.signup(data, Origin(), RefusingMailer())

    assert refused.value.code == code


def test_passwords_of_eight_characters_are_enough():
    assert auth.check_password("12345678") == "12345678"


@pytest.mark.parametrize("raw, code", [("ie", "IE"), (" de ", "DE"), ("GB", "GB")])
def test_country_codes_are_normalised(raw, code):
    assert country_code(raw) == code


@pytest.mark.parametrize("raw", ["UK", "EU", "XX", "IRL", ""])
def test_codes_outside_iso_3166_are_refused(raw):
    with pytest.raises(errors.Invalid):
        country_code(raw)


STAFF = auth.Principal("staff", "usr_staff", "staff", "session", "session#x")


@pytest.mark.parametrize("change", [
    staff.PlanChange("monthly"),
    staff.PlanChange("monthly", subscriber_level=0),
    staff.PlanChange("free", subscriber_level=100),
    staff.PlanChange("payg", credits=0),
])
def test_plan_changes_that_make_no_sense_are_refused_before_reading_the_account(change):
    with pytest.raises(errors.Invalid):
        staff.change_plan(STAFF, "acc_1", change, Origin())


@pytest.mark.parametrize("token", ["", "garbage", "mrs..secret", "mrs.acc_1", "mrk.acc_1.key_1",
                                   "mrk.acc_1..secret", "x" * 600, "mrs.acc_1.secret.extra.parts"])
def test_tokens_of_the_wrong_shape_are_refused_without_a_lookup(token):
    with pytest.raises(errors.Unauthorized):
        auth.authenticate(token)


def test_link_emails_carry_the_link_in_text_and_escaped_html():
    link = "https://mailroom.example/reset-password/acc_1.s3cret&x"

    email = account_mail.password_reset("ada@example.com", link)

    assert email.to == "ada@example.com"
    assert link in email.text
    assert "acc_1.s3cret&amp;x" in email.html
    assert "once" in email.text and "hour" in email.text
    assert "ada@example.com" not in email.text
