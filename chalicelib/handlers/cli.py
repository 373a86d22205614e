"""Operator commands: `python -m chalicelib.handlers.cli create-staff --email E [--password P]`."""
from __future__ import annotations

import argparse
import sys

from chalicelib import errors, security
from chalicelib.services.accounts import staff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.handlers.cli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create_staff = commands.add_parser("create-staff", help="create a staff user, or set a new password for one")
    create_staff.add_argument("--email", required=True)
    create_staff.add_argument("--password", help="at least 8 characters; generated and printed when left out")
    args = parser.parse_args(argv)

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


if __name__ == "__main__":
    sys.exit(main())
