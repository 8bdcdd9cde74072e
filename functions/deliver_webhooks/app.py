"""SQS (the bus's events, and delivery jobs) → signed webhook POSTs, one endpoint at a time.
Failures are reported per record: a job that is not due yet, or an event whose fan-out failed,
comes back alone; receivers that fail are retried by new jobs, not by failing the record."""

import json

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from tokensmith.delivery import default_deliverer
from tokensmith.observability import logger, metrics

processor = BatchProcessor(event_type=EventType.SQS)


def deliver_record(record) -> None:
    default_deliverer().handle(json.loads(record.body), record.receipt_handle)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event, context):
    return process_partial_response(event=event, record_handler=deliver_record, processor=processor, context=context)
