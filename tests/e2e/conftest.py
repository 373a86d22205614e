"""E2E fixtures: the whole local runtime (`python -m local.runtime`) on free ports, once per session."""
from __future__ import annotations

import pytest

from local.launcher import START_TIMEOUT, LaunchedRuntime, RuntimeDidNotStart, launch


@pytest.fixture(scope="session")
def local_runtime(tmp_path_factory) -> dict:
    """local.json of a running runtime: {"api", "outbox", "staff": {"email", "password"}}; stopped after."""
    directory = tmp_path_factory.mktemp("runtime")
    with open(directory / "runtime.log", "w+") as output:
        runtime: LaunchedRuntime = launch(directory / "state", output)
        try:
            state = runtime.wait_until_ready(START_TIMEOUT)
        except RuntimeDidNotStart as exc:
            runtime.stop()
            pytest.fail(str(exc), pytrace=False)
        yield state
        runtime.stop()
