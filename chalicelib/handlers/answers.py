"""What the API answers, one type per shape the handlers build: the OpenAPI document's response schemas
(`chalicelib/handlers/openapi.py`) are generated from these, and each route names its answers where it is
registered (`Api.route(..., answers={status: type})`).

They are closed: an answer with a field missing, a field more, or a value of another type breaks the
document's promise, and `make test` fuzzes every operation and checks every answer against it
(`tests/integration/test_openapi_fuzz.py`). Plain `typing` only, so loading them costs nothing at the cold start.
"""
from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, NotRequired, TypeVar

from pydantic import WithJsonSchema
from typing_extensions import TypedDict

from chalicelib.models.campaigns import CampaignStatus, PauseReason
from chalicelib.models.deliveries import DeliveryState
from chalicelib.models.domains import DomainStatus
from chalicelib.models.exports import ExportStatus
from chalicelib.models.imports import ImportStatus
from chalicelib.models.subscribers import SubscriberStatus
from chalicelib.services.accounts.plans import AccountStatus, Plan
from chalicelib.services.audience.segments import Match
from chalicelib.services.feedback.reputation import Rate

T = TypeVar("T")

Time = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]   # ISO 8601, UTC


class Page(TypedDict, Generic[T]):
    """`{"items": [...], "next_cursor": ...}`: pass `next_cursor` back as `?cursor=` for the next page."""

    items: list[T]
    next_cursor: str | None


# --- accounts ----------------------------------------------------------------------------------

class Usage(TypedDict):
    subscribers: int


class Limits(TypedDict):
    """Named for what they are: the trial's emails are in all, the monthly plan's per month, pay-as-you-go's are
    its credits; `subscribers` is the most the plan may hold (null: no cap)."""

    subscribers: int | None
    trial_emails: NotRequired[int]
    trial_emails_left: NotRequired[int]
    emails_per_month: NotRequired[int]
    emails_left_this_month: NotRequired[int]
    credits: NotRequired[int]
    credits_expire_at: NotRequired[Time | None]


class AccountView(TypedDict):
    id: str
    status: AccountStatus
    status_reason: str | None
    plan: Plan
    trial_ends_at: Time | None
    subscriber_level: int | None
    credits: int
    credits_purchased_at: Time | None
    pro: bool
    address: str | None
    city: str | None
    state: str | None
    region: str | None
    zip: str | None
    phone: str | None
    website: str | None
    industry: str | None
    expected_list_size: int | None
    company: str | None
    first_name: str | None
    last_name: str | None
    country: str | None
    usage: Usage
    limits: Limits
    created_at: Time
    updated_at: Time | None
    closed_at: Time | None
    purge_after: Time | None


class StaffAccountView(AccountView):
    owner_user_id: str | None
    registration: dict[str, Any] | None
    reputation_hold: dict[str, Any] | None


class OneAccount(TypedDict):
    account: AccountView


class OneStaffAccount(TypedDict):
    account: StaffAccountView



class NewUser(TypedDict):
    id: str
    email: str
    email_verified: bool


class SignedUp(TypedDict):
    account: AccountView
    user: NewUser


class Session(TypedDict):
    token: str
    expires_at: Time


class Sent(TypedDict):
    """How many test copies went out."""

    sent: int


class VerificationSent(TypedDict):
    """Whether a new verification link went out (false: the address is verified already)."""

    sent: bool


class Accepted(TypedDict):
    message: str


class Actor(TypedDict):
    id: str | None
    role: str | None
    key_id: str | None


class AuditRecord(TypedDict):
    id: str
    action: str
    at: Time | None
    actor: Actor
    result: str | None
    operation: str | None
    ip: str | None
    user_agent: str | None
    route: str | None
    details: dict[str, Any] | None



class ApiKey(TypedDict):
    id: str
    name: str
    user_id: str                 # whose key it is: it never does more than this user's role allows now
    scopes: list[str] | None     # what it may do (handlers/access.py); None: a key from before scopes, all of them
    created_at: Time | None
    last_used_at: Time | None


class NewApiKey(ApiKey):
    key: str



class DnsRecord(TypedDict):
    type: str
    name: str
    value: str


class DomainView(TypedDict):
    name: str
    status: DomainStatus
    dns_records: list[DnsRecord]
    created_at: Time | None
    checked_at: Time | None


class OneDomain(TypedDict):
    domain: DomainView



# --- exports -----------------------------------------------------------------------------------

class ExportView(TypedDict):
    id: str
    status: ExportStatus
    created_at: Time | None
    ready_at: Time | None
    expires_at: Time | None
    size_bytes: int | None
    download_url: str | None
    download_expires_at: Time | None


class ExportFilter(TypedDict):
    status: list[str] | None
    segment_id: str | None


class ListExportView(ExportView):
    list_id: str
    format: Literal["csv", "json"]
    filter: ExportFilter
    rows: int
    reason: str | None


class OneExport(TypedDict):
    export: ExportView


class OneListExport(TypedDict):
    export: ListExportView



AccountDocument = dict[str, Any]   # the whole account's data (R28): its profile, lists, members, campaigns, …
OpenAPIDocument = dict[str, Any]   # this description of the API


# --- lists, subscribers, segments, imports, suppressions ---------------------------------------

class ListField(TypedDict):
    key: str
    label: str
    type: Literal["text", "number", "date", "boolean"]
    editable: bool


class Notify(TypedDict):
    subscribes: bool
    unsubscribes: bool


class ListView(TypedDict):
    id: str
    name: str
    from_name: str
    from_email: str
    reply_to: str | None
    company_address: str
    double_opt_in: bool
    notify_email: str | None
    notify: Notify
    fields: list[ListField]
    form_url: str
    form_html: str
    created_at: Time | None
    updated_at: Time | None


class OneList(TypedDict):
    list: ListView



class Activity(TypedDict):
    score: int | None
    received: int
    opened: int
    clicked: int
    last_activity_at: Time | None
    last_opened_at: Time | None
    last_clicked_at: Time | None


class SubscriberView(TypedDict):
    id: str
    list_id: str
    email: str
    status: SubscriberStatus
    fields: dict[str, Any]
    consent: dict[str, Any]
    unsubscribe_url: str
    created_at: Time | None
    updated_at: Time | None
    confirmed_at: Time | None
    unsubscribed_at: Time | None
    activity: Activity


class OneSubscriber(TypedDict):
    subscriber: SubscriberView



class Standing(TypedDict):
    id: str
    list_id: str
    status: SubscriberStatus
    suppressed: bool
    suppression_reason: str | None
    suppressed_at: Time | None
    mailable: bool


class Bounce(TypedDict):
    type: str | None
    reason: str | None
    at: Time | None


class CampaignEmail(TypedDict):
    campaign_id: str
    campaign_name: str | None
    state: str
    message_id: str | None
    claimed_at: Time | None
    sent_at: Time | None
    delivered_at: Time | None
    bounce: Bounce | None
    opened_at: Time | None
    clicked_at: Time | None


class SubscriberActivity(TypedDict):
    """A support look-up (R27): the member's standing, and a page of the campaign emails sent to them."""

    subscriber: Standing
    items: list[CampaignEmail]
    next_cursor: str | None


class Condition(TypedDict):
    field: str
    op: str
    value: NotRequired[Any]


class SegmentCount(TypedDict):
    count: int | None
    subscribed: int | None
    counted_at: Time | None


class SegmentView(SegmentCount):
    id: str
    list_id: str
    name: str
    match: Match
    conditions: list[Condition]
    created_at: Time | None
    updated_at: Time | None


class OneSegment(TypedDict):
    segment: SegmentView



class Skipped(TypedDict):
    invalid: int
    role: int
    duplicate: int
    suppressed: int
    limit: int


class Upload(TypedDict):
    """A presigned S3 POST: send `fields`, then the file, as multipart form data to `url`."""

    url: str
    fields: dict[str, str]


class ImportView(TypedDict):
    id: str
    list_id: str
    status: ImportStatus
    rows: int | None
    processed: int
    added: int
    updated: int
    skipped: Skipped
    update_existing: bool
    errors_url: str | None
    reason: str | None
    created_at: Time | None
    started_at: Time | None
    finished_at: Time | None
    upload: NotRequired[Upload]


OneImport = TypedDict("OneImport", {"import": ImportView})   # "import" is a Python keyword



class SuppressionView(TypedDict):
    email: str
    reason: str
    source: str | None
    created_at: Time | None


class OneSuppression(TypedDict):
    suppression: SuppressionView



# --- campaigns, reports, reviews ---------------------------------------------------------------

class CampaignView(TypedDict):
    id: str
    list_id: str
    name: str
    subject: str
    html: str
    text: str | None
    from_name: str | None
    from_email: str | None
    reply_to: str | None
    segment_id: str | None
    status: CampaignStatus
    status_reason: str | None
    paused_reason: PauseReason | None
    scheduled_at: Time | None
    created_at: Time | None
    updated_at: Time | None
    started_at: Time | None
    finished_at: Time | None
    recipients: int
    sent: int
    review: dict[str, Any] | None


class OneCampaign(TypedDict):
    campaign: CampaignView



class Count(TypedDict):
    count: int
    rate: float


class Opens(TypedDict):
    unique: int
    total: int
    machine: int
    rate: float


class LinkClicks(TypedDict):
    url: str
    clicks: int


class Clicks(TypedDict):
    unique: int
    total: int
    scanner: int
    rate: float
    links: list[LinkClicks]


class Bounces(TypedDict):
    hard: int
    soft: int
    rate: float
    hard_rate: float
    soft_rate: float


class AutoStop(TypedDict):
    rate: str | None
    value: float | None
    threshold: float | None
    at: Time | None


class Report(TypedDict):
    campaign_id: str
    status: CampaignStatus
    recipients: int
    sent: int
    failed: int
    skipped: int
    uncertain: int
    opens: Opens
    clicks: Clicks
    delivered: Count
    bounces: Bounces
    complaints: Count
    unsubscribes: Count
    rejected: Count
    stop: AutoStop | None
    devices: dict[str, int]
    browsers: dict[str, int]
    countries: dict[str, int]


class OneReport(TypedDict):
    report: Report


class HeldCampaign(CampaignView):
    account_id: str
    reasons: list[Any]
    matches: list[Any]
    requested_at: Time | None


class FlagView(TypedDict):
    id: str
    account_id: str
    kind: str
    evidence: dict[str, Any]
    status: Literal["open", "dismissed"]
    flagged_at: Time | None
    dismissed_at: Time | None
    dismissal_note: str | None


class OneFlag(TypedDict):
    flag: FlagView


class AccountOnHold(TypedDict):
    """An account whose sending is on reputation hold, with the figures that put it there."""

    account_id: str
    rate: Rate | None
    value: float | None
    limit: float | None
    reported: int | None
    hard_bounces: int | None
    complaints: int | None
    message: str | None
    held_at: Time | None
    owner_notified_at: Time | None


class Reviews(TypedDict):
    """The held campaigns (paged: `items`), the open flags of accounts (`flags`, oldest first), and the accounts on
    reputation hold (`accounts_on_hold`, oldest hold first)."""

    items: list[HeldCampaign]
    next_cursor: str | None
    flags: list[FlagView]
    accounts_on_hold: list[AccountOnHold]


# --- privacy requests --------------------------------------------------------------------------

class RequestAccepted(TypedDict):
    status: Literal["accepted"]
    message: str


# --- staff: the abuse desk ------------------------------------------------------------------------

class AbuseMailing(TypedDict):
    """One campaign email an account sent the address, from the delivery ledger."""

    account_id: str
    account_company: str | None
    account_status: AccountStatus | None
    campaign_id: str
    campaign_name: str | None
    subject: str | None
    list_id: str | None
    state: DeliveryState
    message_id: str | None
    claimed_at: Time | None
    sent_at: Time | None
    delivered_at: Time | None
    bounce: str | None


class AbuseErasure(TypedDict):
    account_id: str
    account_company: str | None
    erased_at: Time | None


class AbuseLookup(TypedDict):
    """The campaign emails each account sent the address (paged: `items`), and the accounts that erased it."""

    items: list[AbuseMailing]
    next_cursor: str | None
    erased_in: list[AbuseErasure]


# --- colleagues ----------------------------------------------------------------------------------

class TeamUser(TypedDict):
    """A user of the account: `status` "invited" until they accept, "expired" when the invitation ran out (invite
    the address again for a new link)."""

    id: str
    email: str
    role: str
    status: Literal["active", "invited", "expired"]
    first_name: str | None
    last_name: str | None
    email_verified: bool
    invited_by: str | None
    invitation_expires_at: Time | None
    created_at: Time | None
    last_login_at: Time | None


class OneTeamUser(TypedDict):
    user: TeamUser
