"""Integration fixtures: moto in-process, the infra definition provisioned into it, the Chalice
test client, and tenants made through the real API."""
from __future__ import annotations

import pytest
from moto import mock_aws

from chalicelib import aws
from chalicelib.config import get_settings
from chalicelib.models.base import reset_connections
from infra.provision import provision


@pytest.fixture
def moto_env():
    """A fresh emulated AWS account with every resource of infra/definition.py."""
    with mock_aws():
        aws.reset()
        reset_connections()
        provision(get_settings())
        yield
    aws.reset()
    reset_connections()


@pytest.fixture
def client(moto_env):
    from chalice.test import Client

    from app import app

    with Client(app) as test_client:
        yield test_client
