"""DynamoDB stream → EventBridge: every audit event, and every TTL purge of a token, becomes an
event on the product's bus. Failures are reported per record, so one bad record neither blocks
nor repeats the others."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from tokensmith.observability import count, logger, metrics
from tokensmith.settings import get_settings
from tokensmith.webhooks.publisher import publish

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def publish_record(record) -> None:
    detail = publish(record.raw_event, get_settings().event_bus_name)
    if detail is not None:
        count(f"published.{detail['type']}")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event, context):
    return process_partial_response(event=event, record_handler=publish_record, processor=processor, context=context)
