"""The sign-in throttle holds against parallel guesses: each attempt is reserved atomically before the password is
checked."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.integration.conftest import api_call
from tests.integration.test_subscriber_limits import atomic_moto  # noqa: F401 - fixture


def test_given_thirty_parallel_wrong_passwords_for_one_address_then_only_five_are_checked(
        client, tenant, atomic_moto):  # noqa: F811
    # Given an account, and 30 clients guessing its password at the same moment
    person = tenant()
    barrier = threading.Barrier(30)

    def guess(n: int) -> int:
        barrier.wait(timeout=30)
        body = {"email": person.email, "password": f"wrong-password-{n}"}
        return api_call(client, "POST", "/v1/sessions", body).status_code

    # When they all try
    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(guess, range(30)))

    # Then five guesses were judged (401) and the other 25 refused unheard (429)
    assert sorted(answers).count(401) == 5, answers
    assert answers.count(429) == 25, answers
    # And even the right password now waits for the window to pass
    right = api_call(client, "POST", "/v1/sessions", {"email": person.email, "password": person.password})
    assert right.status_code == 429
