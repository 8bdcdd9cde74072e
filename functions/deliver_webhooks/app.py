"""SQS (the bus's events, and delivery jobs) → signed webhook POSTs, one endpoint at a time.
Failures are reported per record: a job that is not due yet, or an event whose fan-out failed,
comes back alone; receivers that fail are retried by new jobs, not by failing the record."""

import json

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from tokensmith.observability import logger, metrics
from tokensmith.settings import get_settings
from tokensmith.webhooks.delivery import NotEnoughTime, default_deliverer

# A batch whose every record comes back (jobs not due yet, or no time left) is an answer, not an error:
# the partial-batch response returns each record to the queue, with the visibility the job set.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
SPARE_SECONDS = 5  # what a job needs beside its POST: KMS, the retry's SQS send, the log write


def deliver_record(record, lambda_context=None) -> None:
    # A record that could not finish before the function's timeout goes back to the queue on its own,
    # instead of a timeout sending the whole batch back (and re-sending what was delivered).
    remaining = lambda_context.get_remaining_time_in_millis() / 1000 if lambda_context is not None else float("inf")
    if remaining < get_settings().webhook_timeout_seconds + SPARE_SECONDS:
        raise NotEnoughTime(f"{remaining:.1f} s left: the job waits for the next invocation")
    default_deliverer().handle(json.loads(record.body), record.receipt_handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event, context):
    return process_partial_response(event=event, record_handler=deliver_record, processor=processor, context=context)
