"""Operator commands, run with the stage's settings and the operator's AWS credentials:

    python -m chalicelib.handlers.cli create-staff --email E [--password P]
    python -m chalicelib.handlers.cli redrive --queue Q [--max N]
"""
from __future__ import annotations

import argparse
import sys

from chalicelib import errors, queues, security
from chalicelib.services.accounts import staff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.handlers.cli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create_staff = commands.add_parser("create-staff", help="create a staff user, or set a new password for one")
    create_staff.add_argument("--email", required=True)
    create_staff.add_argument("--password", help="at least 8 characters; generated and printed when left out")
    redrive = commands.add_parser("redrive", help="move a queue's dead-lettered messages back onto it")
    redrive.add_argument("--queue", required=True,
                         help="the work queue: fanout, send, feedback, exports, imports or password-resets")
    redrive.add_argument("--max", type=int, help="move at most this many (all of them when left out)")
    args = parser.parse_args(argv)
    if args.command == "redrive":
        return _redrive(args.queue, args.max)

    password = args.password or security.new_secret()
    try:
        user = staff.create_staff_user(args.email, password)
    except errors.DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(f"staff user {user.user_id} ready")
    if not args.password:
        print(f"password: {password}")
    return 0


def _redrive(queue: str, limit: int | None) -> int:
    if limit is not None and limit < 1:
        print("error: --max must be at least 1", file=sys.stderr)
        return 1
    try:
        done = queues.redrive(queue, limit)
    except errors.DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(f"moved {done.moved} messages from {queue}-dlq back to {queue}; {done.left} left in {queue}-dlq")
    return 0


if __name__ == "__main__":
    sys.exit(main())
