"""SQS (organization policies queued by PUT /v1/organizations/{id}/policy) → the policy's ``allowed_cidrs``
copied onto the organization's tokens, one page of at most 100 tokens per message; each message queues the
next page, then one delayed re-check pass, then marks the policy ``propagated``
(``tokensmith/organizations/propagation.py``). A failed message comes back alone; its writes are conditional,
so a second run repeats nothing."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from tokensmith.observability import logger, metrics
from tokensmith.organizations.propagation import policy_propagator, read_message

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def propagate_record(record, lambda_context=None) -> None:
    step = read_message(record.body)
    copied = policy_propagator().handle(step)
    logger.info(
        "organization policy page copied",
        extra={"organization_id": step.organization_id, "version": step.version, "copied": copied},
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event, context):
    return process_partial_response(event=event, record_handler=propagate_record, processor=processor, context=context)
