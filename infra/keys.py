"""Rotate a stage's signing key in its secret, one safe step at a time (docs/operations.md, "Rotate the signing key").

    python -m infra.keys add --stage prod --region eu-west-1       # 1. a new signing key that only verifies, for now
    python -m infra.keys promote --stage prod --region eu-west-1   # 2. 10 minutes later: the new key signs
    python -m infra.keys retire --stage prod --region eu-west-1    # 3. rarely: drop the oldest key (its links break)
    python -m infra.keys show --stage prod --region eu-west-1      # how many signing keys, and when last changed

Each step reads the secret, checks it, writes the next value as a new version (the previous one stays as
AWSPREVIOUS) and never touches the hash key. Nothing prints a key.
"""
from __future__ import annotations

import argparse
import json
import secrets
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.config import SECRET_MAX_AGE_SECONDS, SettingsError, parse_keys
from infra import definition

NEW_KEY_BYTES = 48   # 64 URL-safe characters
# `promote` waits until every function has read the added key (each keeps what it read SECRET_MAX_AGE_SECONDS).
PROMOTE_AFTER = timedelta(seconds=2 * SECRET_MAX_AGE_SECONDS)
STEPS = ("add", "promote", "retire")


class RotationError(RuntimeError):
    """The step would break links or hashes, or the secret is not valid."""


def next_value(current: str, step: str) -> str:
    """The secret's value after `step`; the hash key is always the one `current` has."""
    keys = parse_keys(current, "The secret")
    signing = [key.decode() for key in keys.signing]
    if step == "add":
        signing.insert(1, secrets.token_urlsafe(NEW_KEY_BYTES))
    elif step == "promote":
        if len(signing) < 2:
            raise RotationError("There is no second signing key to promote; run `add` first.")
        signing[0], signing[1] = signing[1], signing[0]
    elif step == "retire":
        if len(signing) < 2:
            raise RotationError("The only signing key cannot be retired.")
        signing.pop()
    else:
        raise RotationError(f"Unknown step {step!r}; one of {', '.join(STEPS)}.")
    value = json.dumps({"signing_keys": signing, "hash_key": keys.hashing.decode()})
    if parse_keys(value, "The next value").hashing != keys.hashing:
        raise RotationError("The hash key would change.")
    return value


def rotate(client: Any, secret_id: str, step: str, now: datetime) -> str:
    """Apply `step` to the secret through `client` (boto3 Secrets Manager); returns what was done, without keys."""
    if step == "promote":
        changed = client.describe_secret(SecretId=secret_id)["LastChangedDate"]
        if now - changed < PROMOTE_AFTER:
            wait = PROMOTE_AFTER - (now - changed)
            raise RotationError(f"The secret changed {int((now - changed).total_seconds())} s ago; functions may "
                                f"not all have read the added key yet. Promote in {int(wait.total_seconds()) + 1} s.")
    value = next_value(client.get_secret_value(SecretId=secret_id)["SecretString"], step)
    client.put_secret_value(SecretId=secret_id, SecretString=value)
    return f"{step}: {secret_id} now holds {len(json.loads(value)['signing_keys'])} signing keys and its hash key."


def show(client: Any, secret_id: str) -> str:
    """How many signing keys the secret holds and when it last changed; never a key."""
    keys = parse_keys(client.get_secret_value(SecretId=secret_id)["SecretString"], f"The secret {secret_id}")
    changed = client.describe_secret(SecretId=secret_id).get("LastChangedDate")
    return f"{secret_id}: {len(keys.signing)} signing key(s), newest first, and the hash key; last changed {changed}."


def main(argv: list[str] | None = None, client: Any = None) -> int:
    """The command line (`client`: a Secrets Manager client, for tests)."""
    parser = argparse.ArgumentParser(prog="python -m infra.keys", description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=(*STEPS, "show"))
    parser.add_argument("--stage", required=True)
    parser.add_argument("--region", required=True)
    args = parser.parse_args(argv)
    if client is None:
        import boto3

        client = boto3.session.Session(region_name=args.region).client("secretsmanager")
    secret_id = definition.SECRET_NAME.format(stage=args.stage)
    try:
        done = (show(client, secret_id) if args.step == "show"
                else rotate(client, secret_id, args.step, datetime.now(UTC)))
    except (RotationError, SettingsError) as exc:
        print(f"keys: {exc}", file=sys.stderr)
        return 1
    print(done)
    return 0


if __name__ == "__main__":
    sys.exit(main())
