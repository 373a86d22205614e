"""The emulator's backend names (local/backend_names.py) are the ones moto lists, and its server still finds them."""
from __future__ import annotations

from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from local import backend_names


def test_the_names_listed_once_are_the_names_moto_lists():
    assert list(backend_names._list_of_moto_modules()) == list(backend_names._original())
    assert "dynamodb" in backend_names._list_of_moto_modules()


def test_moto_server_finds_the_same_backends_with_the_names_listed_once(monkeypatch):
    app = DomainDispatcherApplication(create_backend_app)
    hosts = ["dynamodb", "sqs", "s3", "dynamodb.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com",
             "email.eu-west-1.amazonaws.com", "bucket.s3.amazonaws.com", "moto_api", "not-a-service"]
    monkeypatch.setattr(backends, "list_of_moto_modules", backend_names._original)
    expected = [app.get_backend_for_host(host) for host in hosts]
    monkeypatch.setattr(backends, "list_of_moto_modules", backend_names._list_of_moto_modules)
    assert [app.get_backend_for_host(host) for host in hosts] == expected
    assert expected[0] == "dynamodb" and expected[-1] is None
