"""Who is calling: session tokens and API keys (R3). (Filled in by the accounts work.)"""
from __future__ import annotations

from dataclasses import dataclass

STAFF_ACCOUNT = "staff"


@dataclass(frozen=True)
class Principal:
    account_id: str
    user_id: str
    role: str               # "owner", "member" or "staff"
    via: str                # "session" or "api_key"
    credential_key: str     # the stored credential that authenticated this call

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"


def authenticate(token: str) -> Principal:
    raise NotImplementedError
