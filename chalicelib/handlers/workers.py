"""SQS consumers: campaign fan-out, sending, and SES feedback.

Each record is handled on its own; a record that fails is reported in `batchItemFailures` (infra/package.py
sets ReportBatchItemFailures on every SQS event source), so SQS delivers it again and, after the queue's
maxReceiveCount, moves it to the dead-letter queue. Nothing is swallowed.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib import config, errors, queues
from chalicelib.handlers.http import Api
from chalicelib.log import logger

api = Api(__name__)


def _each_record(event, work: Callable[[dict[str, Any], Callable[[], int]], None], what: str) -> dict[str, Any]:
    """Run `work(body, remaining_ms)` for every record; the failed ones, as Lambda reads them."""
    remaining_ms = event.context.get_remaining_time_in_millis
    failures = []
    for record in event:
        try:
            try:
                body = json.loads(record.body)
            except ValueError as exc:
                raise errors.Malformed(f"A {what} message is not JSON.") from exc
            if not isinstance(body, dict):
                raise errors.Malformed(f"A {what} message is not a JSON object.")
            work(body, remaining_ms)
        except Exception as exc:  # noqa: BLE001 - reported below, never swallowed: SQS redelivers, then dead-letters
            logger.error(f"{what} record failed", extra={
                "message_id": record.to_dict().get("messageId"), "error": type(exc).__name__,
                "receive_count": record.to_dict().get("attributes", {}).get("ApproximateReceiveCount")})
            failures.append({"itemIdentifier": record.to_dict()["messageId"]})
    return {"batchItemFailures": failures}


def _fan_out(body: dict[str, Any], remaining_ms: Callable[[], int]) -> None:
    from chalicelib.services.campaigns import fanout

    fanout.fan_out(fanout.FanoutJob.from_body(body), queues, remaining_ms)


def _send(body: dict[str, Any], remaining_ms: Callable[[], int]) -> None:
    from chalicelib import ses
    from chalicelib.services.campaigns import sender

    sender.send_chunk(sender.Chunk.from_body(body), ses.RawSender(), remaining_ms)


@api.blueprint.on_sqs_message(queue=config.queue_name("fanout"), batch_size=1)
def fanout_campaign(event) -> dict[str, Any]:
    """Fan a sending campaign's list out into chunks on the send queue."""
    return _each_record(event, _fan_out, "fanout")


@api.blueprint.on_sqs_message(queue=config.queue_name("send"), batch_size=1)
def send_chunk(event) -> dict[str, Any]:
    """Send one chunk of a campaign's recipients."""
    return _each_record(event, _send, "send")


@api.blueprint.on_sqs_message(queue=config.queue_name("feedback"), batch_size=10)
def apply_feedback(event) -> dict[str, Any]:
    """Apply SES feedback events (bounces, complaints, deliveries, rejects), then auto-stop (R22) what they breach."""
    from chalicelib import ses
    from chalicelib.services.feedback import ses_events

    batch = ses_events.Batch()
    answer = _each_record(event, lambda body, _remaining_ms: batch.apply(body), "feedback")
    batch.finish(ses.mailer())
    return answer


def _export(body: dict[str, Any], remaining_ms: Callable[[], int]) -> None:
    from chalicelib import ses
    from chalicelib.services.audience import list_export
    from chalicelib.services.privacy import account_export
    from chalicelib.storage import ExportFiles

    if body.get("kind") == list_export.Job.KIND:   # a list's members (R17); no kind: the account's data
        list_export.run_job(list_export.Job.from_body(body), ExportFiles(), remaining_ms)
        return
    account_export.run_job(account_export.Job.from_body(body), ExportFiles(), ses.mailer())


@api.blueprint.on_sqs_message(queue=config.queue_name("exports"), batch_size=1)
def export_account(event) -> dict[str, Any]:
    """Write a large account's data export to the exports bucket and email its owner (R28), or a list's
    export (R17)."""
    return _each_record(event, _export, "export")


def _import(body: dict[str, Any], remaining_ms: Callable[[], int]) -> None:
    from chalicelib.services.audience import imports
    from chalicelib.services.campaigns import one_time
    from chalicelib.storage import UploadFiles

    ended = imports.run(imports.Job.from_body(body), UploadFiles(), queues.enqueue, remaining_ms)
    if ended is not None and ended.added:   # R16: "send, delete most, import into a new list" is flagged
        one_time.check_after_import(ended.account_id, ended.list_id)


@api.blueprint.on_sqs_message(queue=config.queue_name("imports"), batch_size=1)
def import_list(event) -> dict[str, Any]:
    """Import a CSV file into a list, a page at a time from its saved cursor (R14)."""
    return _each_record(event, _import, "import")


def _reset(body: dict[str, Any], remaining_ms: Callable[[], int]) -> None:
    from chalicelib import ses
    from chalicelib.services.accounts import auth

    auth.send_reset_link(auth.ResetJob.from_body(body), ses.mailer())


@api.blueprint.on_sqs_message(queue=config.queue_name("password-resets"), batch_size=10)
def send_reset_links(event) -> dict[str, Any]:
    """Email the password reset links requested through POST /v1/password-resets."""
    return _each_record(event, _reset, "password reset")
