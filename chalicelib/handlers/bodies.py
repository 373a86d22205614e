"""The request bodies the API accepts, one section per resource.

Strict JSON types, unknown fields refused (never stored). Loaded on first use, not at import
(pydantic is the heaviest import of the app): handlers refer to it through `http.bodies`.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.services.accounts import auth


class Body(BaseModel):
    """A request body: strict JSON types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


# --- sessions ----------------------------------------------------------------------------------

class Credentials(Body):
    email: str = Field(max_length=320)
    password: str = Field(max_length=auth.MAX_PASSWORD)


# --- accounts ----------------------------------------------------------------------------------

class ProfileFields(Body):
    address: str | None = Field(default=None, max_length=500)
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    zip: str | None = Field(default=None, max_length=20)
    phone: str | None = Field(default=None, max_length=40)
    website: str | None = Field(default=None, max_length=300)
    industry: str | None = Field(default=None, max_length=100)
    expected_list_size: int | None = Field(default=None, ge=0, le=1_000_000_000)


class Signup(ProfileFields):
    email: str = Field(max_length=320)
    password: str = Field(max_length=auth.MAX_PASSWORD)
    company: str = Field(min_length=1, max_length=200)
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    country: str = Field(min_length=2, max_length=2)
    accept_terms: bool


class ProfileChanges(ProfileFields):
    company: str | None = Field(default=None, min_length=1, max_length=200)
    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, min_length=1, max_length=100)
    country: str | None = Field(default=None, min_length=2, max_length=2)


class ResetRequest(Body):
    email: str = Field(max_length=320)


class ResetConfirmation(Body):
    token: str = Field(max_length=auth.MAX_TOKEN)
    password: str = Field(max_length=auth.MAX_PASSWORD)


# --- api_keys ----------------------------------------------------------------------------------

class NewKey(Body):
    name: str = Field(min_length=1, max_length=100)


# --- admin -------------------------------------------------------------------------------------

class Suspension(Body):
    reason: str | None = Field(default=None, max_length=500)


class PlanBody(Body):
    plan: Literal["trial", "free", "monthly", "payg"]
    subscriber_level: int | None = Field(default=None, gt=0, le=100_000_000)
    credits: int | None = Field(default=None, gt=0, le=100_000_000)
    pro: bool | None = None


# --- lists -------------------------------------------------------------------------------------

Text = Field(min_length=1, max_length=200)
OptionalText = Field(default=None, min_length=1, max_length=200)

class FieldBody(Body):
    key: str = Field(min_length=1, max_length=40)
    label: str = Field(min_length=1, max_length=100)
    type: Literal["text", "number", "date", "boolean"] = "text"


class NotifyBody(Body):
    """Which digests the list's owner gets (R29); a setting left out stays as it is."""

    subscribes: bool | None = None
    unsubscribes: bool | None = None


class NewList(Body):
    name: str = Text
    from_name: str = Text
    from_email: str = Field(max_length=254)
    company_address: str = Field(min_length=1, max_length=500)
    double_opt_in: bool = True
    reply_to: str | None = Field(default=None, max_length=254)
    notify_email: str | None = Field(default=None, max_length=254)
    notify: NotifyBody | None = None
    fields: list[FieldBody] = Field(default_factory=list, max_length=50)


class ListChanges(Body):
    name: str | None = OptionalText
    from_name: str | None = OptionalText
    from_email: str | None = Field(default=None, max_length=254)
    company_address: str | None = Field(default=None, min_length=1, max_length=500)
    double_opt_in: bool | None = None
    reply_to: str | None = Field(default=None, max_length=254)
    notify_email: str | None = Field(default=None, max_length=254)
    notify: NotifyBody | None = None
    fields: list[FieldBody] | None = Field(default=None, max_length=50)


# --- subscribers -------------------------------------------------------------------------------

MAX_FIELDS = 50

class ConsentBody(Body):
    source: str = Field(min_length=1, max_length=100)
    ip: str | None = Field(default=None, max_length=64)
    at: str | None = Field(default=None, max_length=40)


class NewSubscriber(Body):
    email: str
    fields: dict[str, Any] = Field(default_factory=dict, max_length=MAX_FIELDS)
    consent: ConsentBody


class SubscriberChanges(Body):
    email: str | None = None        # accepted only to answer clearly that it cannot change
    status: str | None = None
    fields: dict[str, Any] | None = Field(default=None, max_length=MAX_FIELDS)


# --- suppressions ------------------------------------------------------------------------------

class NewSuppression(Body):
    email: str


# --- privacy requests (R28) --------------------------------------------------------------------

class PrivacyRequest(Body):
    email: str = Field(max_length=320)
    type: Literal["erasure", "access"]


# --- campaigns, domains, reviews ---------------------------------------------------------------

class NewCampaign(Body):
    list_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    subject: str = Field(min_length=1, max_length=500)
    html: str = Field(min_length=1, max_length=200_000)
    text: str | None = Field(default=None, max_length=200_000)
    from_name: str | None = OptionalText
    from_email: str | None = Field(default=None, max_length=254)
    reply_to: str | None = Field(default=None, max_length=254)


class CampaignChanges(Body):
    list_id: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = OptionalText
    subject: str | None = Field(default=None, min_length=1, max_length=500)
    html: str | None = Field(default=None, min_length=1, max_length=200_000)
    text: str | None = Field(default=None, max_length=200_000)
    from_name: str | None = OptionalText
    from_email: str | None = Field(default=None, max_length=254)
    reply_to: str | None = Field(default=None, max_length=254)


class TestCopies(Body):
    emails: list[str] = Field(min_length=1, max_length=5)


class SendOrder(Body):
    scheduled_at: str | None = Field(default=None, max_length=40)


class Rejection(Body):
    reason: str = Field(min_length=1, max_length=500)


class NewDomain(Body):
    domain: str = Field(min_length=1, max_length=300)


# --- list exports ------------------------------------------------------------------------------

class NewListExport(Body):
    format: str = Field(max_length=10)
    status: list[str] | None = Field(default=None, max_length=10)
    segment_id: str | None = Field(default=None, max_length=100)


# --- staff: flags (R16) ------------------------------------------------------------------------

class FlagDismissal(Body):
    note: str | None = Field(default=None, max_length=500)
