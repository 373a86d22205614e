"""The emulator's SQS checks a received message's retention without counting the whole queue.

moto's ReceiveMessage (5.x) checks each message it hands out against the queue's retention period by asking
`get_queue_attributes(queue, ["MessageRetentionPeriod"])`, which builds every attribute of the queue three
times over, and with them ApproximateNumberOfMessages, ...NotVisible and ...Delayed, each a pass over every
message in the queue. So one receive of ten messages walked the queue ninety times: with Delivery events for
every recipient of a campaign, the feedback queue holds a backlog of thousands, and in a profile of a
500-recipient send these walks were a quarter of the emulator's CPU time, pacing the feedback consumer, and
through it the sender (it waits for SES's reports). `install()` makes the check read the queue's retention
period itself: the same answer (tests/unit/test_sqs_retention.py compares the two), at no cost per message
queued.
"""
from __future__ import annotations

from moto.core.utils import unix_time
from moto.sqs.models import Message, SQSBackend

_original = SQSBackend.is_message_valid_based_on_retention_period
_installed = False


def is_message_valid_based_on_retention_period(self: SQSBackend, queue_name: str, message: Message) -> bool:
    """True while the message is younger than its queue's retention period (what moto's check answers)."""
    # moto sets a queue's attributes (MessageRetentionPeriod among them) on the queue by name, untyped
    retention_period = self.get_queue(queue_name).message_retention_period  # type: ignore[attr-defined]
    return retention_period + message.sent_timestamp / 1000 > unix_time()  # type: ignore[operator]


def install() -> None:
    """Use the direct check in every moto SQS backend of this process (idempotent)."""
    global _installed
    if not _installed:
        SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
            is_message_valid_based_on_retention_period)
        _installed = True
