"""Tokensmith: the shared package of every function (lands in /opt/python/tokensmith in Lambda).

Data flows one way: functions → service → repository → DynamoDB. Modules on the verify hot path
(settings, token_format, clock, repository, verification) import neither pydantic nor the event
handler, so the authorizer starts cold almost as fast as a bare boto3 function.
"""
