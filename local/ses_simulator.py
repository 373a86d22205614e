"""SES's event publishing on the local runtime: the events AWS publishes for mail sent with a configuration set,
as a real inbox would answer it, and as SES's mailbox simulator (simulator.amazonses.com) answers.

`SimulatorEvents` is an outbox observer. For each message sent with a configuration set, it publishes to the
SNS topic of every enabled event destination of that configuration set whose matching event types cover the
event, what SES's event publishing puts there: `eventType`, the `mail` object (the SES message id, source,
destination, headers, common headers and the message's tags plus SES's own `ses:*` tags) and the event's own
object, as documented in "Examples of event data that Amazon SES publishes to Amazon SNS". What each
recipient produces follows "Using the mailbox simulator":

    any other address  Delivery, as a receiving server that accepts the message answers
    success@           Delivery
    ooto@              Delivery (the auto-reply goes to the sender's mailbox; SES publishes no event for it)
    complaint@         Delivery, then Complaint (feedback type "abuse")
    bounce@            Bounce Permanent/General, 550 5.1.1 user unknown
    suppressionlist@   Bounce Permanent/Suppressed, as if on SES's global suppression list

(each simulator address also with a `+label`). The delivered recipients of one send share one Delivery event
and its bounced ones one Bounce event, as SES combines them. Sends without a configuration set get nothing
(the service never sends without one). Publishing happens on a worker thread after an optional delay, in SNS
batches of ten, never on the SES request's thread, so that a 10,000-recipient campaign is not slowed by it.
"""
from __future__ import annotations

import email
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import HeaderParser
from email.utils import parseaddr
from enum import Enum
from typing import Any

from botocore.exceptions import ClientError

from local.outbox import SentEmail

log = logging.getLogger("local.ses_simulator")

SIMULATOR_DOMAIN = "simulator.amazonses.com"
MAX_HEADERS_BYTES = 10 * 1024   # SES truncates the headers it publishes beyond 10 KB
LOCAL_IP = "127.0.0.1"
SUPPRESSED_DIAGNOSTIC = (
    "Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an invalid "
    "address. For more information about how to remove an address from the suppression list, see the Amazon SES "
    "Developer Guide: http://docs.aws.amazon.com/ses/latest/DeveloperGuide/remove-from-suppressionlist.html "
)


class Scenario(str, Enum):
    """A mailbox simulator address, by its local part (before any +label)."""

    SUCCESS = "success"
    BOUNCE = "bounce"
    OOTO = "ooto"
    COMPLAINT = "complaint"
    SUPPRESSION_LIST = "suppressionlist"


class EventType(str, Enum):
    """SES event types, as `eventType` names them."""

    DELIVERY = "Delivery"
    BOUNCE = "Bounce"
    COMPLAINT = "Complaint"


def scenario(address: str) -> Scenario | None:
    """The simulator scenario an address asks for, or None for any other address."""
    local, _, domain = parseaddr(address)[1].rpartition("@")
    if domain.lower() != SIMULATOR_DOMAIN:
        return None
    try:
        return Scenario(local.split("+", 1)[0].lower())
    except ValueError:
        return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _feedback_id(moment: datetime) -> str:
    """Shaped like SES's: milliseconds in hex, a UUID, a suffix."""
    return f"{int(moment.timestamp() * 1000):016x}-{uuid.uuid4()}-000000"


def _mta(region: str) -> str:
    return f"a7-1.smtp-out.{region}.amazonses.com"


@dataclass(frozen=True)
class Destination:
    """One event destination of a configuration set: its SNS topic and the event types it takes."""

    topic_arn: str
    event_types: frozenset[str]

    @classmethod
    def from_ses(cls, described: dict[str, Any]) -> Destination | None:
        """From SES's DescribeConfigurationSet; None unless it is an enabled SNS destination."""
        topic = (described.get("SNSDestination") or {}).get("TopicARN")
        if not topic or not described.get("Enabled", False):
            return None
        return cls(topic, frozenset(_type_key(t) for t in described.get("MatchingEventTypes", [])))

    def covers(self, event_type: EventType) -> bool:
        return _type_key(event_type.value) in self.event_types


def _type_key(name: str) -> str:
    """One spelling for SES v1's "deliveryDelay", v2's "DELIVERY_DELAY" and eventType's "DeliveryDelay"."""
    return name.replace("_", "").replace(" ", "").lower()


# --- the event records ----------------------------------------------------------------------------------
def _headers(message: email.message.Message) -> tuple[list[dict[str, str]], bool]:
    """The message's headers as SES lists them, unfolded, and whether they had to be cut at 10 KB."""
    listed: list[dict[str, str]] = []
    size = 0
    for name, value in message.raw_items():
        value = " ".join(str(value).split())
        size += len(name) + len(value) + 4
        if size > MAX_HEADERS_BYTES:
            return listed, True
        listed.append({"name": name, "value": value})
    return listed, False


def _common_headers(message: email.message.EmailMessage, message_id: str) -> dict[str, Any]:
    common: dict[str, Any] = {}
    for header, key in (("From", "from"), ("Reply-To", "replyTo"), ("To", "to"), ("Cc", "cc")):
        if message[header] is not None:
            common[key] = [str(address) for address in message[header].addresses]
    if message["Date"] is not None:
        common["date"] = str(message["Date"])
    common["messageId"] = message_id
    if message["Subject"] is not None:
        common["subject"] = str(message["Subject"])
    return common


def mail_object(sent: SentEmail, *, account_id: str, region: str) -> dict[str, Any]:
    """The `mail` object of every event about `sent` (a delivery's also has the ses:outgoing-ip tag)."""
    domain = parseaddr(sent.source)[1].rpartition("@")[2].lower()
    headers, truncated = _headers(_HEADERS_ONLY.parsestr(sent.raw))
    tags = {name: [value] for name, value in sent.tags.items()}
    tags.update({
        "ses:configuration-set": [sent.configuration_set or ""],
        "ses:source-ip": [LOCAL_IP],
        "ses:from-domain": [domain],
        "ses:caller-identity": ["local"],
    })
    return {
        "timestamp": _iso(sent.sent_at),
        "source": sent.source,
        "sourceArn": f"arn:aws:ses:{region}:{account_id}:identity/{domain}",
        "sendingAccountId": account_id,
        "messageId": sent.id,
        "destination": list(sent.to),
        "headersTruncated": truncated,
        "headers": headers,
        "commonHeaders": _common_headers(_COMMON_HEADERS.parsestr(sent.raw), sent.id),
        "tags": tags,
    }


# Only the headers are read (the events carry no body): a campaign email's body is most of its parsing time.
_HEADERS_ONLY = HeaderParser(policy=policy.compat32)
_COMMON_HEADERS = HeaderParser(policy=policy.default)
DELIVERED = (None, Scenario.SUCCESS, Scenario.OOTO, Scenario.COMPLAINT)   # None: any address but the simulator's


def simulated_events(sent: SentEmail, *, account_id: str, region: str,
                     now: datetime) -> list[tuple[EventType, dict[str, Any]]]:
    """The event records SES publishes for `sent`'s recipients, in the order it publishes them."""
    by_scenario: dict[Scenario | None, list[str]] = {}
    for address in sent.to:
        by_scenario.setdefault(scenario(address), []).append(address)
    mail = mail_object(sent, account_id=account_id, region=region)

    def record(event_type: EventType, body: dict[str, Any]) -> tuple[EventType, dict[str, Any]]:
        shown = mail
        if event_type is EventType.DELIVERY:
            shown = {**mail, "tags": {**mail["tags"], "ses:outgoing-ip": [LOCAL_IP]}}
        return event_type, {"eventType": event_type.value, "mail": shown, event_type.value.lower(): body}

    events = []
    suppressed = by_scenario.get(Scenario.SUPPRESSION_LIST, [])
    if suppressed:  # refused before any attempt to deliver
        events.append(record(EventType.BOUNCE, {
            "bounceType": "Permanent", "bounceSubType": "Suppressed",
            "bouncedRecipients": [{"emailAddress": a, "action": "failed", "status": "5.1.1",
                                   "diagnosticCode": SUPPRESSED_DIAGNOSTIC} for a in suppressed],
            "timestamp": _iso(now), "feedbackId": _feedback_id(now), "reportingMTA": "dns; amazonses.com",
        }))
    delivered_at = now + timedelta(milliseconds=250)
    delivered = [a for a in sent.to if scenario(a) in DELIVERED]   # in the order of the send
    if delivered:
        events.append(record(EventType.DELIVERY, {
            "timestamp": _iso(delivered_at),
            "processingTimeMillis": max(0, int((delivered_at - sent.sent_at).total_seconds() * 1000)),
            "recipients": delivered, "smtpResponse": "250 2.6.0 Message received",
            "remoteMtaIp": LOCAL_IP, "reportingMTA": _mta(region),
        }))
    bounced = by_scenario.get(Scenario.BOUNCE, [])
    if bounced:
        events.append(record(EventType.BOUNCE, {
            "bounceType": "Permanent", "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": a, "action": "failed", "status": "5.1.1",
                                   "diagnosticCode": "smtp; 550 5.1.1 user unknown"} for a in bounced],
            "timestamp": _iso(delivered_at), "feedbackId": _feedback_id(delivered_at),
            "remoteMtaIp": LOCAL_IP, "reportingMTA": f"dsn; {_mta(region)}",
        }))
    complained = by_scenario.get(Scenario.COMPLAINT, [])
    if complained:
        complained_at = delivered_at + timedelta(milliseconds=250)
        events.append(record(EventType.COMPLAINT, {
            "complainedRecipients": [{"emailAddress": a} for a in complained],
            "timestamp": _iso(complained_at), "feedbackId": _feedback_id(complained_at),
            "userAgent": "Amazon SES Mailbox Simulator", "complaintFeedbackType": "abuse",
            "arrivalDate": _iso(delivered_at),
        }))
    return events


# --- the observer -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Pending:
    sent: SentEmail
    due: float   # time.monotonic() at which to publish


_STOP = object()
MAX_BATCH = 10                # SNS PublishBatch takes at most ten entries
MAX_MESSAGES_PER_ROUND = 50   # messages whose events one round publishes
DESTINATIONS_TTL = 2.0        # seconds a configuration set's destinations are reused before asking SES again


class SimulatorEvents:
    """Outbox observer that publishes the simulator's events to the configuration set's SNS destinations.

    `ses` (SES v1, for DescribeConfigurationSet) and `sns` are boto3 clients on the emulator; `delay`
    (seconds) holds each message's events back, as SES takes a moment to deliver or bounce. Events that
    are due together go out in SNS batches: the queue receives the same notifications as from one-by-one
    publishing, at a fraction of the emulator's time, so the simulator keeps pace with a campaign.
    """

    def __init__(self, ses: Any, sns: Any, *, account_id: str, region: str, delay: float = 0.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._ses = ses
        self._sns = sns
        self.account_id = account_id
        self.region = region
        self.delay = max(0.0, delay)
        self._clock = clock
        self._pending: queue.Queue = queue.Queue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._destinations: dict[str, tuple[float, list[Destination]]] = {}

    def __call__(self, sent: SentEmail) -> None:
        """Called in the emulator's SES request thread: hand on what SES would publish events about."""
        if sent.configuration_set:
            self._pending.put(_Pending(sent, time.monotonic() + self.delay))

    def start(self) -> None:
        """Publish from a background thread until stop()."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="ses-simulator", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop publishing; events not yet published are dropped, as the queues they would reach are going."""
        self._stopping.set()
        self._pending.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        dropped = sum(1 for item in _drain(self._pending) if item is not _STOP)
        if dropped:
            log.info("ses simulator: %d message(s) stopped before their events were published", dropped)

    def _run(self) -> None:
        held: Any = None
        while True:
            item, held = held or self._pending.get(), None
            if item is _STOP or self._stopping.is_set():
                return
            wait = item.due - time.monotonic()
            if wait > 0 and self._stopping.wait(wait):
                return
            due = [item.sent]
            while len(due) < MAX_MESSAGES_PER_ROUND:
                try:
                    following = self._pending.get_nowait()
                except queue.Empty:
                    break
                if following is _STOP or following.due > time.monotonic():
                    held = following
                    break
                due.append(following.sent)
            try:
                self.publish(due)
            except Exception as exc:  # noqa: BLE001 - the emulator going away or a bug: log by id, serve the rest
                log.error("ses simulator: events for %d message(s) from %s on not published: %s", len(due), due[0].id,
                          type(exc).__name__)

    def destinations(self, configuration_set: str) -> list[Destination]:
        """The configuration set's enabled SNS event destinations, as SES described them (at most 2 s ago)."""
        cached = self._destinations.get(configuration_set)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        described = self._ses.describe_configuration_set(
            ConfigurationSetName=configuration_set, ConfigurationSetAttributeNames=["eventDestinations"])
        found = [d for d in (Destination.from_ses(d) for d in described.get("EventDestinations", []) if d) if d]
        self._destinations[configuration_set] = (time.monotonic() + DESTINATIONS_TTL, found)
        return found

    def publish(self, messages: list[SentEmail]) -> int:
        """Publish the messages' events, in order, to each destination that takes them; how many were published."""
        by_topic: dict[str, list[str]] = {}
        for sent in messages:
            if not sent.configuration_set:
                continue
            try:
                destinations = self.destinations(sent.configuration_set)
            except ClientError as exc:  # e.g. the configuration set was deleted since: SES would publish nothing
                log.error("ses simulator: no destinations for message %s: %s", sent.id,
                          exc.response.get("Error", {}).get("Code", ""))
                continue
            for event_type, event in simulated_events(sent, account_id=self.account_id, region=self.region,
                                                      now=self._clock()):
                body = json.dumps(event)
                for destination in destinations:
                    if destination.covers(event_type):
                        by_topic.setdefault(destination.topic_arn, []).append(body)
        published = 0
        for topic, bodies in by_topic.items():
            for start in range(0, len(bodies), MAX_BATCH):
                entries = [{"Id": str(n), "Message": body} for n, body in enumerate(bodies[start:start + MAX_BATCH])]
                answer = self._sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
                published += len(answer.get("Successful", []))
                if answer.get("Failed"):
                    log.error("ses simulator: SNS refused %d event(s): %s", len(answer["Failed"]),
                              sorted({f.get("Code", "") for f in answer["Failed"]}))
        log.debug("ses simulator: %d event(s) for %d message(s) published", published, len(messages))
        return published


def _drain(pending: queue.Queue) -> list[Any]:
    items = []
    while True:
        try:
            items.append(pending.get_nowait())
        except queue.Empty:
            return items
