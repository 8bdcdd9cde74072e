from tokensmith.expiry.schedule import WAKE_SHARDS, next_wake, shard_of, wake_attributes

DAY = 86400
EXPIRES = 1_800_000_000


def test_the_first_wake_is_the_earliest_pending_notice():
    assert next_wake(EXPIRES, [], (7, 1)) == EXPIRES - 7 * DAY
    assert next_wake(EXPIRES, [7], (7, 1)) == EXPIRES - 1 * DAY
    assert next_wake(EXPIRES, [7, 1], (7, 1)) == EXPIRES
    assert next_wake(EXPIRES, [], ()) == EXPIRES


def test_live_tokens_with_an_expiry_are_in_the_index_and_others_are_not():
    token = {"id": "0f0e0d0c-0000-4000-8000-000000000000", "status": "disabled", "expires_epoch": EXPIRES}

    live = wake_attributes(token, (7, 1))
    revoked = wake_attributes({**token, "status": "revoked"}, (7, 1))
    forever = wake_attributes({**token, "expires_epoch": None}, (7, 1))

    assert live == {"wake_pk": f"WAKE#{shard_of(token['id'])}", "wake_at": EXPIRES - 7 * DAY, "notified_days": None}
    assert revoked == forever == {"wake_pk": None, "wake_at": None, "notified_days": None}


def test_shards_spread_tokens():
    import uuid

    shards = {shard_of(str(uuid.uuid4())) for _ in range(200)}
    assert shards == set(range(WAKE_SHARDS))
