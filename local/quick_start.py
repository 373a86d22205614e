"""The short quick start `make run` prints once the runtime is up: where things are, and shell lines that sign
up an account, have the local staff user approve it, and sign in (tests/e2e/test_quick_start.py runs them)."""
from __future__ import annotations

import json
import shlex

OWNER = {"email": "you@example.com", "password": "a long enough password", "company": "Example Ltd",
         "first_name": "Ada", "last_name": "Lovelace", "country": "IE", "accept_terms": True}
SIGN_IN = {"email": str(OWNER["email"]), "password": str(OWNER["password"])}
FIELD = "python3 -c 'import json,sys; print(json.load(sys.stdin){path})'"


def _post(path: str, body: dict, then: str = "") -> str:
    extract = f" | {FIELD.format(path=then)}" if then else ""
    return (f"curl -s $API{path} -H 'Content-Type: application/json' "
            f"-d {shlex.quote(json.dumps(body, separators=(',', ':')))}{extract}")


def session_command(credentials: dict[str, str]) -> str:
    """The shell line that signs in and keeps the session's token in $TOKEN."""
    return f'TOKEN=$({_post("/v1/sessions", credentials, then="""["token"]""")})'


def commands(api: str, staff: dict[str, str]) -> list[str]:
    """The shell lines, in order: sign up, approve as staff, move to a paid plan, sign in, read the account."""
    bearer = '-H "Authorization: Bearer $STAFF"'
    return [
        f"API={api}",
        "# sign up (the verification email is in the outbox), then approve as staff: new accounts wait for review",
        f'ACCOUNT=$({_post("/v1/signup", OWNER, then="""["account"]["id"]""")})',
        f'STAFF=$({_post("/v1/sessions", staff, then="""["token"]""")})',
        f"curl -s -X POST $API/v1/admin/accounts/$ACCOUNT/approve {bearer} > /dev/null",
        "# a trial sends 100 emails in all, each campaign held for staff; pay-as-you-go with 1,000 credits instead:",
        f"curl -s -X PATCH $API/v1/admin/accounts/$ACCOUNT/plan {bearer} -H 'Content-Type: application/json' "
        """-d '{"plan":"payg","credits":1000}' > /dev/null""",
        "# sign in, and call the API with the token",
        session_command(SIGN_IN),
        'curl -s $API/v1/account -H "Authorization: Bearer $TOKEN"',
    ]


def text(api: str, outbox: str, staff: dict[str, str]) -> str:
    """The quick start, as printed."""
    return "\n".join([
        "",
        "Quick start, in another shell:",
        *(f"  {line}" for line in commands(api, staff)),
        f"Outbox (every email sent, as people see it): {outbox}",
        "Docs: README.md, docs/guide.md (a first campaign, end to end), docs/api.md (every route).",
        "A ready account with a campaign sent and its report: make demo",
    ])
