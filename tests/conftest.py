"""Shared test set-up: a valid EU environment, and (for integration tests) moto with every resource
of the one infra definition created in it."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import chalice.test as chalice_test

# Set before any chalicelib import reads settings. Fake credentials: moto never reaches AWS.
os.environ.update({
    "MAILROOM_STAGE": "test",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "MAILROOM_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
    "MAILROOM_PUBLIC_URL": "https://mailroom.test.invalid",
    "MAILROOM_SENDER": "mailroom <no-reply@mailroom.localhost>",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_SERVICE_NAME": "mailroom",   # what .chalice/config.json gives every stage
})
os.environ.pop("MAILROOM_AWS_ENDPOINT", None)


@contextlib.contextmanager
def _environment_as_set_here(self: object, environment_variables: object) -> Iterator[None]:
    yield


# Chalice's test client swaps os.environ for a copy holding the chalice stage's variables (MAILROOM_STAGE "dev")
# during each call: settings first read inside a call would name another stage's tables for the rest of the
# worker, and threads calling at once restore each other's copies. The environment is the one set above.
chalice_test.BaseClient._patched_env_vars = _environment_as_set_here  # type: ignore[method-assign]
