"""The request bodies the API accepts, one section per resource.

Strict JSON types, unknown fields refused (never stored). Loaded on first use, not at import
(pydantic is the heaviest import of the app): handlers refer to it through `http.bodies`.
"""
from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from chalicelib.services.accounts import auth


class Body(BaseModel):
    """A request body: strict JSON types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)

    def changes(self) -> dict[str, Any]:
        """A PATCH's changes: the fields the client sent, each whole (an object or list of objects in it keeps
        the defaults of what it left out, e.g. a list field's `type`), and nothing it left out."""
        whole = self.model_dump()
        return {name: whole[name] for name in self.model_fields_set}


def example(**values: Any) -> ConfigDict:
    """A body's example, shown in the OpenAPI document and the API reference (and tried first by the fuzzer)."""
    return ConfigDict(json_schema_extra={"examples": [values]})


# --- sessions ----------------------------------------------------------------------------------

class Credentials(Body):
    model_config = example(email="ana@example.com", password="correct horse battery")

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
    model_config = example(email="ana@example.com", password="correct horse battery", company="Ana Ltd",
                           first_name="Ana", last_name="Berzina", country="LV", accept_terms=True)

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
    model_config = example(name="CRM sync", scopes=["lists:read", "subscribers:read", "subscribers:write"])

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Annotated[str, Field(max_length=50)]] | None = Field(default=None, max_length=50)


# --- admin -------------------------------------------------------------------------------------

class Suspension(Body):
    reason: str | None = Field(default=None, max_length=500)


class PlanBody(Body):
    model_config = example(plan="monthly", subscriber_level=1000)

    plan: Literal["trial", "free", "monthly", "payg"]
    subscriber_level: int | None = Field(default=None, gt=0, le=100_000_000)
    credits: int | None = Field(default=None, gt=0, le=100_000_000)
    pro: bool | None = None


# --- lists -------------------------------------------------------------------------------------

def _one_line(text: str) -> str:
    """Text that may go into an email header (From, List-Id, Subject): no control characters or line breaks."""
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in text):
        raise ValueError("must be one line of text, without control characters")
    return text


OneLine = AfterValidator(_one_line)
Text = Annotated[str, Field(min_length=1, max_length=200), OneLine]
Subject = Annotated[str, Field(min_length=1, max_length=500), OneLine]


class FieldBody(Body):
    key: str = Field(min_length=1, max_length=40)
    label: str = Field(min_length=1, max_length=100)
    type: Literal["text", "number", "date", "boolean"] = "text"
    editable: bool = False   # members may change it in the preference centre


class NotifyBody(Body):
    """Which digests the list's owner gets (R29); a setting left out stays as it is."""

    subscribes: bool | None = None
    unsubscribes: bool | None = None


class NewList(Body):
    model_config = example(name="News", from_name="Ana Ltd", from_email="news@example.com",
                           company_address="Brivibas iela 1, Riga, Latvia", double_opt_in=False,
                           fields=[{"key": "first_name", "label": "First name", "type": "text", "editable": True}])

    name: Text
    from_name: Text
    from_email: str = Field(max_length=254)
    company_address: str = Field(min_length=1, max_length=500)
    double_opt_in: bool = True
    reply_to: str | None = Field(default=None, max_length=254)
    notify_email: str | None = Field(default=None, max_length=254)
    notify: NotifyBody | None = None
    fields: list[FieldBody] = Field(default_factory=list, max_length=50)


class ListChanges(Body):
    name: Text | None = None
    from_name: Text | None = None
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
    model_config = example(email="janis@example.org", fields={"first_name": "Janis"},
                           consent={"source": "shop checkout"})

    email: str
    fields: dict[str, Any] = Field(default_factory=dict, max_length=MAX_FIELDS)
    consent: ConsentBody


class SubscriberChanges(Body):
    email: str | None = None        # accepted only to answer clearly that it cannot change
    status: str | None = None
    fields: dict[str, Any] | None = Field(default=None, max_length=MAX_FIELDS)


# --- segments ----------------------------------------------------------------------------------

class ConditionBody(Body):
    field: str = Field(min_length=1, max_length=100)
    op: str = Field(min_length=1, max_length=20)
    value: Any = None


class NewSegment(Body):
    model_config = example(name="Gmail readers", match="all",
                           conditions=[{"field": "email", "op": "ends_with", "value": "@gmail.com"}])

    name: Text
    match: str = Field(default="all", max_length=10)
    conditions: list[ConditionBody] = Field(max_length=100)   # the service sets the real limit, and says it


class SegmentChanges(Body):
    name: Text | None = None
    match: str | None = Field(default=None, max_length=10)
    conditions: list[ConditionBody] | None = Field(default=None, max_length=100)


class ImportConsent(Body):
    source: str = Field(min_length=1, max_length=100)
    permission: bool


class NewImport(Body):
    model_config = example(consent={"source": "shop customers 2025", "permission": True},
                           csv="email,first_name\nlaura@example.org,Laura\n")

    consent: ImportConsent
    mapping: dict[str, str] | None = Field(default=None, max_length=MAX_FIELDS + 1)
    update_existing: bool = False
    csv: str | None = None


# --- suppressions ------------------------------------------------------------------------------

class NewSuppression(Body):
    model_config = example(email="no-more@example.org")

    email: str


# --- privacy requests (R28) --------------------------------------------------------------------

class PrivacyRequest(Body):
    model_config = example(email="janis@example.org", type="access")

    email: str = Field(max_length=320)
    type: Literal["erasure", "access"]


# --- campaigns, domains, reviews ---------------------------------------------------------------

class NewCampaign(Body):
    model_config = example(list_id="lst_01m8y65pznnwsvv256mrd68twz", name="Spring news",
                           subject="Spring news for {{ first_name | default(\"you\") }}",
                           html="<p>Hello {{ first_name | default(\"there\") }}</p>")

    list_id: str = Field(min_length=1, max_length=64)
    name: Text
    subject: Subject
    html: str = Field(min_length=1, max_length=200_000)
    text: str | None = Field(default=None, max_length=200_000)
    from_name: Text | None = None
    from_email: str | None = Field(default=None, max_length=254)
    reply_to: str | None = Field(default=None, max_length=254)
    segment_id: str | None = Field(default=None, min_length=1, max_length=64)


class CampaignChanges(Body):
    list_id: str | None = Field(default=None, min_length=1, max_length=64)
    name: Text | None = None
    subject: Subject | None = None
    html: str | None = Field(default=None, min_length=1, max_length=200_000)
    text: str | None = Field(default=None, max_length=200_000)
    from_name: Text | None = None
    from_email: str | None = Field(default=None, max_length=254)
    reply_to: str | None = Field(default=None, max_length=254)
    segment_id: str | None = Field(default=None, min_length=1, max_length=64)   # null: the whole list again


class TestCopies(Body):
    model_config = example(emails=["ana@example.com"])

    emails: list[str] = Field(min_length=1, max_length=5)


class SendOrder(Body):
    model_config = example()   # now; or {"scheduled_at": "2030-05-01T09:00:00Z"}

    scheduled_at: str | None = Field(default=None, max_length=40)


class Rejection(Body):
    reason: str = Field(min_length=1, max_length=500)


class NewDomain(Body):
    model_config = example(domain="example.com")

    domain: str = Field(min_length=1, max_length=300)


# --- list exports ------------------------------------------------------------------------------

class NewListExport(Body):
    model_config = example(format="csv", status=["subscribed"])

    format: str = Field(max_length=10)
    status: list[str] | None = Field(default=None, max_length=10)
    segment_id: str | None = Field(default=None, max_length=100)


# --- staff: flags (R16) ------------------------------------------------------------------------

class FlagDismissal(Body):
    note: str | None = Field(default=None, max_length=500)


# --- colleagues and the user's own login -------------------------------------------------------

TeamRole = Literal["admin", "editor", "viewer"]


class Invitation(Body):
    model_config = example(email="ben@example.com", role="editor")

    email: str = Field(max_length=320)
    role: TeamRole


class InvitationAcceptance(Body):
    token: str = Field(max_length=auth.MAX_TOKEN)
    password: str = Field(max_length=auth.MAX_PASSWORD)


class RoleChange(Body):
    model_config = example(role="viewer")

    role: TeamRole


class PasswordChange(Body):
    model_config = example(current_password="correct horse battery", new_password="battery staple horse")

    current_password: str = Field(max_length=auth.MAX_PASSWORD)
    new_password: str = Field(max_length=auth.MAX_PASSWORD)


class EmailChange(Body):
    model_config = example(email="ana@new-example.com", password="correct horse battery")

    email: str = Field(max_length=320)
    password: str = Field(max_length=auth.MAX_PASSWORD)
