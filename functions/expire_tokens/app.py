"""Scheduled (EventBridge Scheduler, every minute by default): stamp ``expired`` on due tokens and
write the expiring-soon notices; revoke the tokens unused for their organization's ``inactivity_days``
(reason ``inactive``) after the ``token.inactive_soon`` notices. Safe to run twice at once; stops
before its own timeout."""

from aws_lambda_powertools.metrics import MetricUnit

from tokensmith.expiry.sweeper import ExpirySweeper
from tokensmith.observability import logger, metrics
from tokensmith.settings import get_settings
from tokensmith.tokens.repository import default_repository

RESERVE_SECONDS = 5.0  # stop paging with this much of the invocation left


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event, context):
    sweeper = ExpirySweeper(default_repository(), get_settings())
    report = sweeper.sweep(
        time_left=lambda: context.get_remaining_time_in_millis() / 1000, reserve_seconds=RESERVE_SECONDS
    )
    metrics.add_metric(name="TokensExpired", unit=MetricUnit.Count, value=report.expired)
    metrics.add_metric(name="ExpiringNotices", unit=MetricUnit.Count, value=report.notices)
    metrics.add_metric(name="TokensRevokedInactive", unit=MetricUnit.Count, value=report.revoked)
    metrics.add_metric(name="InactiveSoonNotices", unit=MetricUnit.Count, value=report.inactivity_notices)
    metrics.add_metric(name="SweepRescheduled", unit=MetricUnit.Count, value=report.rescheduled)
    metrics.add_metric(name="SweepSkipped", unit=MetricUnit.Count, value=report.skipped)
    metrics.add_metric(name="SweepReadUnits", unit=MetricUnit.Count, value=report.read_units)
    for lag in report.lags[:100]:
        metrics.add_metric(name="ExpiryLag", unit=MetricUnit.Seconds, value=lag)
    summary = report.as_dict()
    logger.info("expiry sweep", extra=summary)
    return summary
