"""The emulator's SQS sends and receives without walking a queue's backlog twice per message.

A local campaign sends a Delivery event per recipient through SNS to the feedback queue, faster than the feedback
consumer applies them, so that queue holds thousands of messages while a large campaign goes out. moto (5.2) then
pays per queued message on every call:

- SendMessage to any queue reads `queue.attributes` for the FIFO setting ContentBasedDeduplication, and building
  those attributes counts the visible, in-flight and delayed messages: three passes over the queue, each reading
  the clock twice per message. A standard queue has no such setting (the read always gives None), so for a
  standard queue `send_message` below does what moto's does without building the attributes; a FIFO queue still
  takes moto's own path.
- ReceiveMessage (and every wake-up of a long poll) lists the queue's visible messages, reading the clock twice
  per message; `messages` below reads it once per listing and compares each message's times with that moment.

In a profile of a 2,000-recipient campaign on the local runtime these walks were a tenth of the runtime's CPU time,
and they grow with the backlog, so the later part of a large campaign went slower than its start.
tests/unit/test_sqs_backlog.py compares what both ways store and hand out.
"""
from __future__ import annotations

from typing import Any

from moto.core import utils as moto_utils
from moto.moto_api._internal import mock_random as random
from moto.sqs.exceptions import InvalidParameterValue
from moto.sqs.models import MAXIMUM_MESSAGE_DELAY, Message, Queue, SQSBackend

_original_send = SQSBackend.send_message
_original_messages = Queue.messages
_installed = False


def send_message(self: SQSBackend, queue_name: str, message_body: str, message_attributes: dict[str, Any] | None = None,
                 delay_seconds: int | None = None, deduplication_id: str | None = None, group_id: str | None = None,
                 system_attributes: dict[str, Any] | None = None, validate_group_id: bool = True) -> Message:
    """moto's SendMessage; for a standard queue without building the queue's attributes."""
    queue = self.get_queue(queue_name)
    if queue.fifo_queue:
        return _original_send(self, queue_name, message_body, message_attributes, delay_seconds, deduplication_id,
                              group_id, system_attributes, validate_group_id)
    self._validate_message(queue, message_body=message_body, delay_seconds=int(delay_seconds or 0),
                           deduplication_id=deduplication_id, group_id=group_id, validate_group_id=validate_group_id)
    delay = int(delay_seconds) if delay_seconds is not None else queue.delay_seconds  # type: ignore[attr-defined]
    message = Message(str(random.uuid4()), message_body, system_attributes)
    if deduplication_id is not None:
        message.deduplication_id = deduplication_id
        message.sequence_number = "".join(random.choice("0123456789") for _ in range(20))
    if group_id is not None:
        message.group_id = group_id
    if message_attributes:
        message.message_attributes = message_attributes
    if delay > MAXIMUM_MESSAGE_DELAY:
        raise InvalidParameterValue(f"Value {delay} for parameter DelaySeconds is invalid. "
                                    "Reason: DelaySeconds must be >= 0 and <= 900.")
    message.mark_sent(delay_seconds=delay)
    queue.add_message(message)
    return message


def messages(self: Queue) -> list[Message]:
    """The queue's visible messages that are not delayed, in order (what moto's `Queue.messages` lists)."""
    now = moto_utils.unix_time_millis()
    return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]


def install() -> None:
    """Use these in every moto SQS backend of this process (idempotent)."""
    global _installed
    if not _installed:
        SQSBackend.send_message = send_message   # type: ignore[method-assign]
        Queue.messages = property(messages)       # type: ignore[method-assign, assignment]
        _installed = True
