"""Tokensmith: the shared package of every function (lands in /opt/python/tokensmith in Lambda).

One folder per domain (``tokens``, ``sessions``, ``webhooks``, ``expiry``), shared pieces one level
up (``table``: every key; ``auth``: who may do what; ``audit``: the audit trail; ``aws``; ``http``).
Data flows one way: functions → service → repository → DynamoDB. Modules on the verify hot path
(settings, clock, table, auth, audit, aws.dynamodb, tokens.format/lifecycle/repository/verification)
import neither pydantic nor the event handler, so the authorizer starts cold almost as fast as a
bare botocore function. No ``__init__`` re-exports anything: importing a package costs nothing.
"""
