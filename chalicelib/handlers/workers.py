"""SQS consumers: campaign fan-out, sending, and SES feedback.

Each consumer hands its batch to Powertools' BatchProcessor: every record is worked on its own, and only the records
that failed are reported in `batchItemFailures` (infra/package.py sets ReportBatchItemFailures on every SQS event
source), so SQS delivers them again and, after the queue's maxReceiveCount, moves them to the dead-letter queue.
Nothing is swallowed: each failure is logged (its message id and error type, never its body).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice.app import SQSEvent

from chalicelib import config, errors, queues
from chalicelib.handlers.http import Api
from chalicelib.log import logger

if TYPE_CHECKING:   # Powertools' batch utility loads with the first batch, not at the cold start
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

api = Api(__name__)

Work = Callable[[dict[str, Any], Callable[[], int]], None]


def _each_record(event: SQSEvent, work: Work, what: str) -> PartialItemFailureResponse:
    """Run `work(body, remaining_ms)` for every record, its lines correlated by the campaign its body names; the
    failed ones, as Lambda reads them."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    context: Any = event.context   # Lambda's context object (Chalice types it as a dict)
    remaining_ms = context.get_remaining_time_in_millis

    class Records(BatchProcessor):
        def failure_handler(self, record: SQSRecord, exception: Any) -> Any:
            logger.error(f"{what} record failed", extra={
                "message_id": record.message_id, "error": exception[0].__name__,
                "receive_count": record.attributes.get("ApproximateReceiveCount")})
            return super().failure_handler(record, exception)

    def handle(record: SQSRecord) -> None:
        body = _body(record, what)
        campaign_id = body.get("campaign_id")
        logger.set_correlation_id(campaign_id if isinstance(campaign_id, str) else None)
        try:
            work(body, remaining_ms)
        finally:
            logger.set_correlation_id(None)
            logger.remove_keys(["campaign_id"])

    # A batch whose every record failed is reported record by record too: the invocation itself failing is kept
    # for what must redeliver a whole batch (the feedback batch's end).
    return process_partial_response(event=event.to_dict(), record_handler=handle, context=context,
                                    processor=Records(EventType.SQS, raise_on_entire_batch_failure=False))


def _body(record: SQSRecord, what: str) -> dict[str, Any]:
    try:
        body = json.loads(record.body)
    except ValueError as exc:
        raise errors.Malformed(f"A {what} message is not JSON.") from exc
    if not isinstance(body, dict):
        raise errors.Malformed(f"A {what} message is not a JSON object.")
    return body


def _fan_out(body: dict[str, Any], remaining_ms: Callable[[], int]) -> None:
    from chalicelib.services.campaigns import fanout

    fanout.fan_out(fanout.FanoutJob.from_body(body), queues, remaining_ms)


def _send(body: dict[str, Any], remaining_ms: Callable[[], int]) -> None:
    from chalicelib import ses
    from chalicelib.services.campaigns import sender

    sender.send_chunk(sender.Chunk.from_body(body), ses.RawSender(), remaining_ms)


@api.blueprint.on_sqs_message(queue=config.queue_name("fanout"), batch_size=1)
def fanout_campaign(event: SQSEvent) -> PartialItemFailureResponse:
    """Fan a sending campaign's list out into chunks on the send queue."""
    return _each_record(event, _fan_out, "fanout")


@api.blueprint.on_sqs_message(queue=config.queue_name("send"), batch_size=1)
def send_chunk(event: SQSEvent) -> PartialItemFailureResponse:
    """Send one chunk of a campaign's recipients."""
    return _each_record(event, _send, "send")


@api.blueprint.on_sqs_message(queue=config.queue_name("feedback"), batch_size=10)
def apply_feedback(event: SQSEvent) -> PartialItemFailureResponse:
    """Apply SES feedback events (bounces, complaints, deliveries, rejects), then auto-stop (R22) what they breach."""
    from chalicelib import ses
    from chalicelib.services.feedback import ses_events

    batch = ses_events.Batch()
    answer = _each_record(event, lambda body, _remaining_ms: batch.apply(body), "feedback")
    batch.finish(ses.mailer())   # if it raises, the invocation fails and SQS delivers the whole batch again
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
def export_account(event: SQSEvent) -> PartialItemFailureResponse:
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
def import_list(event: SQSEvent) -> PartialItemFailureResponse:
    """Import a CSV file into a list, a page at a time from its saved cursor (R14)."""
    return _each_record(event, _import, "import")


def _reset(body: dict[str, Any], remaining_ms: Callable[[], int]) -> None:
    from chalicelib import ses
    from chalicelib.services.accounts import auth

    auth.send_reset_link(auth.ResetJob.from_body(body), ses.mailer())


@api.blueprint.on_sqs_message(queue=config.queue_name("password-resets"), batch_size=10)
def send_reset_links(event: SQSEvent) -> PartialItemFailureResponse:
    """Email the password reset links requested through POST /v1/password-resets."""
    return _each_record(event, _reset, "password reset")
