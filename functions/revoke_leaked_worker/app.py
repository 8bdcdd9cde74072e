"""SQS (leak reports queued by POST /v1/tokens/revoke-leaked) → revocations with the reason ``leaked``.

Each message holds up to 100 (token id, digest) pairs: one ``BatchGetItem``, then one revocation per
token that a reported digest still opens. Failures are reported per message: a message that could not
finish (DynamoDB busy, a token that kept changing, too little time left) comes back alone, and its
second run skips what the first one revoked."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from tokensmith.observability import logger, metrics
from tokensmith.tokens.leaks import leaked_token_revoker, read_message

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
SPARE_SECONDS = 20  # a message of 100 revocations takes a few seconds; leave it room before the timeout


class NotEnoughTime(RuntimeError):
    """Too little of the invocation is left for one more message: it waits for the next one."""


def revoke_record(record, lambda_context=None) -> None:
    remaining = lambda_context.get_remaining_time_in_millis() / 1000 if lambda_context is not None else float("inf")
    if remaining < SPARE_SECONDS:
        raise NotEnoughTime(f"{remaining:.1f} s left: the message waits for the next invocation")
    leaks, reported_by = read_message(record.body)
    revoked = leaked_token_revoker().revoke_reported(leaks, reported_by)
    logger.info("leak report handled", extra={"reported": len(leaks), "revoked": revoked})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event, context):
    return process_partial_response(event=event, record_handler=revoke_record, processor=processor, context=context)
