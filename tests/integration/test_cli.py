"""The operator command that creates staff users."""
from __future__ import annotations

from chalicelib.handlers import cli
from tests.integration.conftest import api_call, signup_body


def log_in(client, email, password):
    return api_call(client, "POST", "/v1/sessions", {"email": email, "password": password})


def test_create_staff_prints_a_generated_password_that_signs_in_as_staff(client, capsys):
    assert cli.main(["create-staff", "--email", "ops@mailroom.example"]) == 0

    password = capsys.readouterr().out.split("password: ", 1)[1].strip()
    token = log_in(client, "ops@mailroom.example", password).json_body["token"]
    listed = api_call(client, "GET", "/v1/admin/accounts", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200


def test_create_staff_again_sets_a_new_password_and_ends_old_sessions(client, capsys):
    cli.main(["create-staff", "--email", "ops@mailroom.example", "--password", "first-password"])
    old = log_in(client, "ops@mailroom.example", "first-password").json_body["token"]

    assert cli.main(["create-staff", "--email", "ops@mailroom.example", "--password", "second-password"]) == 0

    assert "password:" not in capsys.readouterr().out
    assert log_in(client, "ops@mailroom.example", "first-password").status_code == 401
    assert log_in(client, "ops@mailroom.example", "second-password").status_code == 201
    assert api_call(client, "GET", "/v1/admin/accounts", headers={"Authorization": f"Bearer {old}"}).status_code == 401


def test_a_customer_address_cannot_become_staff(client, capsys):
    api_call(client, "POST", "/v1/signup", signup_body("owner@customer.example"))

    assert cli.main(["create-staff", "--email", "owner@customer.example", "--password", "some-password"]) == 1

    assert "customer" in capsys.readouterr().err


def test_a_short_password_is_refused(client, capsys):
    assert cli.main(["create-staff", "--email", "ops@mailroom.example", "--password", "short"]) == 1
    assert "at least 8" in capsys.readouterr().err
