"""The event pump: feeds SQS messages and schedules to the Chalice app's own handlers, as Lambda would.

For every `@on_sqs_message` source it long-polls the queue and invokes the handler with a
Lambda-shaped SQS event; records are deleted only when the handler succeeds (a raised exception
fails the whole batch, a `{"batchItemFailures": [...]}` answer fails those records), so failures come
back after the queue's visibility timeout and end in its dead-letter queue, as in AWS. Every
`@schedule` is fired shortly after start and then at its rate or cron times, with an
EventBridge-shaped "Scheduled Event". One thread per source; nothing a handler does stops the pump.
"""
from __future__ import annotations

import base64
import calendar
import logging
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalice.app import Chalice, ScheduledEventConfig, ScheduleExpression, SQSEventConfig
from chalice.local import LambdaContext

log = logging.getLogger("local.pump")

MAX_RECEIVE = 10  # SQS hands out at most ten messages per ReceiveMessage


@dataclass(frozen=True)
class FunctionSettings:
    """What Lambda would give a function: its name, timeout and memory."""

    name: str
    timeout_seconds: int = 30
    memory_mb: int = 512


@dataclass
class SqsSource:
    name: str
    handler: Callable[[dict, Any], Any]
    queue_name: str
    batch_size: int
    queue_url: str | None = None
    queue_arn: str | None = None


@dataclass
class ScheduleSource:
    name: str
    handler: Callable[[dict, Any], Any]
    schedule: Rate | Cron
    next_at: float = 0.0


@dataclass
class BatchResult:
    """What happened to one batch: ids deleted (done) and ids left for redelivery."""

    succeeded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


# --- schedules ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rate:
    seconds: int

    def next_after(self, moment: float) -> float:
        """The next firing after `moment` (epoch seconds)."""
        return moment + self.seconds


_MONTHS = {name: number for number, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}
_WEEKDAYS = {name: number for number, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}


def _values(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    """The numbers an AWS cron field allows: lists, ranges, steps, `*` and `?`, and names."""
    def number(token: str) -> int:
        token = token.upper()
        return (names or {}).get(token) or int(token)

    found: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = number(first), number(last)
        else:
            start = number(base)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise ValueError(f"cron field {text!r} is outside {low}-{high}")
        found.update(range(start, end + 1, step))
    return found


def _aws_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # AWS numbers Sunday 1 … Saturday 7


@dataclass(frozen=True)
class Cron:
    """An EventBridge cron expression (minutes hours day-of-month month day-of-week year), in UTC."""

    expression: str

    def __post_init__(self) -> None:
        self._fields()  # refuse a malformed expression at start, not at its first firing

    def _fields(self) -> tuple[set[int], set[int], str, set[int], str, set[int]]:
        parts = self.expression.split()
        if len(parts) != 6:
            raise ValueError(f"cron({self.expression}) needs six fields")
        minutes, hours, day_of_month, month, day_of_week, year = parts
        return (_values(minutes, 0, 59), _values(hours, 0, 23), day_of_month.upper(),
                _values(month, 1, 12, _MONTHS), day_of_week.upper(), _values(year, 1970, 2199))

    def _day_matches(self, day: date, day_of_month: str, day_of_week: str) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        if day_of_month != "?":
            if day_of_month == "L":
                return day.day == last
            if day_of_month.endswith("W"):
                target = date(day.year, day.month, min(int(day_of_month[:-1]), last))
                if target.weekday() == 5:
                    target = target - timedelta(days=1) if target.day > 1 else target + timedelta(days=2)
                elif target.weekday() == 6:
                    target = target + timedelta(days=1) if target.day < last else target - timedelta(days=2)
                return day == target
            return day.day in _values(day_of_month, 1, 31)
        if day_of_week == "?":
            return True
        if "#" in day_of_week:
            weekday, nth = day_of_week.split("#")
            return _aws_weekday(day) == _values(weekday, 1, 7, _WEEKDAYS).pop() and (day.day - 1) // 7 + 1 == int(nth)
        if day_of_week.endswith("L") and len(day_of_week) > 1:
            last_weekday = _values(day_of_week[:-1], 1, 7, _WEEKDAYS).pop()
            return _aws_weekday(day) == last_weekday and day.day + 7 > last
        return _aws_weekday(day) in _values(day_of_week, 1, 7, _WEEKDAYS)

    def next_after(self, moment: float) -> float:
        """The first matching minute after `moment` (epoch seconds), in UTC."""
        minutes, hours, day_of_month, months, day_of_week, years = self._fields()
        start = datetime.fromtimestamp(moment, tz=UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        for _ in range(366 * 5):
            if day.year in years and day.month in months and self._day_matches(day, day_of_month, day_of_week):
                for hour in sorted(hours):
                    for minute in sorted(minutes):
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if candidate >= start:
                            return candidate.timestamp()
            day += timedelta(days=1)
        raise ValueError(f"cron({self.expression}) never fires in the next five years")


_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\((.+)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def parse_schedule(expression: str | ScheduleExpression) -> Rate | Cron:
    """A Chalice schedule (Rate, Cron or its string form) as something that knows its next firing."""
    text = expression.to_string() if isinstance(expression, ScheduleExpression) else expression.strip()
    if match := _RATE.fullmatch(text):
        return Rate(int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")])
    if match := _CRON.fullmatch(text):
        return Cron(match.group(1))
    raise ValueError(f"unknown schedule expression {text!r}")


# --- events ---------------------------------------------------------------------------------
def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    binary = value.get("BinaryValue")
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary,
        "stringListValues": value.get("StringListValues", []),
        "binaryListValues": value.get("BinaryListValues", []),
        "dataType": value["DataType"],
    }


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One received SQS message as Lambda puts it in an event's Records."""
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {k: _message_attribute(v) for k, v in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def scheduled_event(rule_arn: str, account_id: str, region: str, moment: float) -> dict[str, Any]:
    """An EventBridge "Scheduled Event" for a rule, at `moment`."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": datetime.fromtimestamp(moment, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def failed_item_ids(result: Any, message_ids: Iterable[str]) -> set[str]:
    """The records a handler's answer fails, read the way Lambda reads ReportBatchItemFailures."""
    ids = set(message_ids)
    if not result:
        return set()
    if not isinstance(result, dict):
        return ids  # not a response Lambda can read: the whole batch failed
    failures = result.get("batchItemFailures")
    if not failures:
        return set()
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in ids:
            return ids  # an empty or unknown identifier fails the whole batch, as in Lambda
        failed.add(identifier)
    return failed


def _where(exc: BaseException) -> str:
    """Where an exception was raised, without its message (which may carry personal data)."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    return " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(frames))


# --- the pump -------------------------------------------------------------------------------
class Pump:
    """Runs an app's SQS consumers and schedules against a (local) SQS endpoint."""

    def __init__(
        self,
        app: Chalice,
        sqs: Any,
        *,
        region: str,
        account_id: str = "123456789012",
        function_settings: Callable[[str], FunctionSettings] | None = None,
        wait_seconds: int = 1,
        first_fire_after: float = 2.0,
        clock: Callable[[], float] = time.time,
    ):
        self.sqs = sqs
        self.region = region
        self.account_id = account_id
        self.wait_seconds = wait_seconds
        self.clock = clock
        self._settings = function_settings or (lambda name: FunctionSettings(name))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.queues: list[SqsSource] = []
        self.schedules: list[ScheduleSource] = []
        start = clock()
        for source in app.event_sources:
            handler = app.handler_map[source.name]
            if isinstance(source, SQSEventConfig):
                queue = source.queue or (source.queue_arn or "").rsplit(":", 1)[-1]
                self.queues.append(SqsSource(source.name, handler, queue, max(1, source.batch_size)))
            elif isinstance(source, ScheduledEventConfig):
                schedule = parse_schedule(source.schedule_expression)
                self.schedules.append(ScheduleSource(source.name, handler, schedule, start + first_fire_after))
            else:
                log.warning("pump: %s (%s) is not run locally", source.name, type(source).__name__)

    # --- one step at a time (tests drive these) -----------------------------------------------
    def run_once(self) -> dict[str, BatchResult]:
        """Take one batch from every queue without waiting, and fire every schedule that is due."""
        results = {source.name: self.poll(source, wait_seconds=0) for source in self.queues}
        self.fire_due()
        return results

    def poll(self, source: SqsSource, wait_seconds: int | None = None) -> BatchResult:
        """Receive up to one batch from the source's queue and hand it to its handler."""
        if not self._resolve(source):
            return BatchResult()
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        messages: list[dict[str, Any]] = []
        while len(messages) < source.batch_size:
            response = self.sqs.receive_message(
                QueueUrl=source.queue_url,
                MaxNumberOfMessages=min(MAX_RECEIVE, source.batch_size - len(messages)),
                WaitTimeSeconds=wait if not messages else 0,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = response.get("Messages", [])
            if not received:
                break
            messages.extend(received)
        if not messages:
            return BatchResult()
        return self._deliver(source, messages)

    def fire_due(self, now: float | None = None) -> list[str]:
        """Fire every schedule whose time has come; returns the names fired."""
        moment = self.clock() if now is None else now
        fired = []
        for source in self.schedules:
            if source.next_at <= moment:
                self.fire(source, moment)
                fired.append(source.name)
        return fired

    def fire(self, source: ScheduleSource, moment: float | None = None) -> bool:
        """Invoke one schedule's handler now and plan its next firing; False if the handler failed."""
        moment = self.clock() if moment is None else moment
        source.next_at = source.schedule.next_after(moment)
        rule_arn = f"arn:aws:events:{self.region}:{self.account_id}:rule/{self._settings(source.name).name}"
        try:
            source.handler(scheduled_event(rule_arn, self.account_id, self.region, moment), self._context(source.name))
        except Exception as exc:  # noqa: BLE001 - a failing schedule must not stop the others
            log.error("pump: schedule %s failed: %s at %s", source.name, type(exc).__name__, _where(exc))
            return False
        log.info("pump: schedule %s ran", source.name)
        return True

    # --- internals ------------------------------------------------------------------------------
    def _context(self, name: str) -> LambdaContext:
        settings = self._settings(name)
        context = LambdaContext(settings.name, settings.memory_mb, max_runtime_ms=settings.timeout_seconds * 1000)
        context.invoked_function_arn = f"arn:aws:lambda:{self.region}:{self.account_id}:function:{settings.name}"
        context.log_group_name = f"/aws/lambda/{settings.name}"
        return context

    def _resolve(self, source: SqsSource) -> bool:
        if source.queue_url:
            return True
        try:
            url = self.sqs.get_queue_url(QueueName=source.queue_name)["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        except Exception as exc:  # noqa: BLE001 - not created yet, or the emulator is going away: tried again
            log.error("pump: queue %s for %s is not there (%s)", source.queue_name, source.name, type(exc).__name__)
            return False
        source.queue_url, source.queue_arn = url, arn
        return True

    def _deliver(self, source: SqsSource, messages: list[dict[str, Any]]) -> BatchResult:
        records = [sqs_record(m, source.queue_arn or "", self.region) for m in messages]
        ids = [r["messageId"] for r in records]
        try:
            failed = failed_item_ids(source.handler({"Records": records}, self._context(source.name)), ids)
        except Exception as exc:  # noqa: BLE001 - Lambda fails the whole batch; the messages come back later
            log.error("pump: %s failed a batch of %d: %s at %s", source.name, len(records), type(exc).__name__,
                      _where(exc))
            failed = set(ids)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), MAX_RECEIVE):
            chunk = done[start:start + MAX_RECEIVE]
            self.sqs.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)],
            )
        if failed and len(failed) < len(ids):
            log.warning("pump: %s failed %d of %d records; they will be retried", source.name, len(failed), len(ids))
        return BatchResult(succeeded=[m["MessageId"] for m in done], failed=[i for i in ids if i in failed])

    # --- threads --------------------------------------------------------------------------------
    def start(self) -> None:
        """One thread per queue and per schedule, until stop()."""
        self._stop.clear()
        for source in self.queues:
            self._spawn(f"pump-{source.name}", self._queue_loop, source)
        for schedule in self.schedules:
            self._spawn(f"pump-{schedule.name}", self._schedule_loop, schedule)
        if self.queues or self.schedules:
            log.info("pump: %d queue consumer(s), %d schedule(s)", len(self.queues), len(self.schedules))

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every thread to finish its current batch and wait for them."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]

    def _spawn(self, name: str, target: Callable[[Any], None], source: Any) -> None:
        thread = threading.Thread(target=target, args=(source,), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _queue_loop(self, source: SqsSource) -> None:
        while not self._stop.is_set():
            try:
                if not self._resolve(source):
                    self._stop.wait(5)
                    continue
                self.poll(source)
            except Exception as exc:  # noqa: BLE001 - the emulator going away, a throttle: log, pause, carry on
                if self._stop.is_set():
                    return
                log.error("pump: polling %s failed: %s", source.name, type(exc).__name__)
                self._stop.wait(1)

    def _schedule_loop(self, source: ScheduleSource) -> None:
        while not self._stop.wait(max(0.0, source.next_at - self.clock())):
            self.fire(source)
