from tokensmith.expiry.schedule import (
    WAKE_SHARDS,
    Deadline,
    expiry_deadline,
    inactivity_deadline,
    iso_epoch,
    next_wake,
    shard_of,
    wake_after_use,
    wake_attributes,
)

DAY = 86400
EXPIRES = 1_800_000_000
CREATED = "2027-01-15T08:00:00Z"
TOKEN = {"id": "0f0e0d0c-0000-4000-8000-000000000000", "status": "active", "created_at": CREATED}


def test_the_first_wake_is_the_earliest_pending_notice():
    assert next_wake(Deadline(EXPIRES, (7, 1)), None) == EXPIRES - 7 * DAY
    assert next_wake(Deadline(EXPIRES, (7, 1), (7,)), None) == EXPIRES - 1 * DAY
    assert next_wake(Deadline(EXPIRES, (7, 1), (7, 1)), None) == EXPIRES
    assert next_wake(Deadline(EXPIRES), None) == EXPIRES
    assert next_wake(None, None) is None


def test_the_wake_is_the_earliest_of_expiry_and_inactivity():
    expiry, inactivity = Deadline(EXPIRES, (7, 1)), Deadline(EXPIRES - 30 * DAY, (14, 3))
    assert next_wake(expiry, inactivity) == EXPIRES - 44 * DAY
    assert next_wake(expiry, Deadline(EXPIRES + 30 * DAY, (14,))) == EXPIRES - 7 * DAY


def test_notices_due_are_those_whose_instant_has_come_and_not_sent():
    deadline = Deadline(EXPIRES, (14, 3), (14,))
    assert deadline.notices_due(EXPIRES - 15 * DAY) == []
    assert deadline.notices_due(EXPIRES - 3 * DAY) == [3]
    assert Deadline(EXPIRES, (14, 3)).notices_due(EXPIRES - 2 * DAY) == [14, 3]  # late: both at once


def test_live_tokens_with_an_expiry_are_in_the_index_and_others_are_not():
    token = {**TOKEN, "status": "disabled", "expires_epoch": EXPIRES}

    live = wake_attributes(token, (7, 1))
    revoked = wake_attributes({**token, "status": "revoked"}, (7, 1))
    forever = wake_attributes({**token, "expires_epoch": None}, (7, 1))

    assert live["wake_pk"] == f"WAKE#{shard_of(token['id'])}" and live["wake_at"] == EXPIRES - 7 * DAY
    assert {k: v for k, v in live.items() if k not in ("wake_pk", "wake_at")} == dict.fromkeys(
        ("notified_days", "inactivity_notified_days", "inactivity_not_before")
    )
    assert set(revoked.values()) == set(forever.values()) == {None}


def test_inactivity_counts_from_the_last_use_else_the_creation():
    policy = {"org_inactivity_days": 30, "org_inactivity_notice_days": [14, 3]}
    never_used = inactivity_deadline({**TOKEN, **policy})
    used = inactivity_deadline({**TOKEN, **policy, "last_used_at": "2027-02-01T00:00:00Z"})

    assert never_used == Deadline(iso_epoch(CREATED) + 30 * DAY, (14, 3))
    assert used is not None and used.at == iso_epoch("2027-02-01T00:00:00Z") + 30 * DAY
    assert inactivity_deadline(TOKEN) is None  # the organization never revokes unused tokens


def test_a_new_policys_grace_holds_the_revocation_back():
    policy = {"org_inactivity_days": 30, "inactivity_not_before": iso_epoch(CREATED) + 90 * DAY}
    deadline = inactivity_deadline({**TOKEN, **policy})
    assert deadline is not None and deadline.at == iso_epoch(CREATED) + 90 * DAY


def test_a_token_without_expiry_but_with_inactivity_is_in_the_index():
    token = {**TOKEN, "org_inactivity_days": 30, "org_inactivity_notice_days": [14, 3]}
    wake = wake_attributes(token, (7, 1))
    assert wake["wake_at"] == iso_epoch(CREATED) + 16 * DAY
    assert wake["wake_pk"].startswith("WAKE#")


def test_a_use_moves_the_wake_and_forgets_the_notices_only_under_inactivity():
    token = {
        **TOKEN,
        "expires_epoch": EXPIRES + 365 * DAY,
        "org_inactivity_days": 30,
        "org_inactivity_notice_days": [14, 3],
        "inactivity_notified_days": [14],
        "inactivity_not_before": EXPIRES,
    }
    used_at = "2027-03-01T00:00:00Z"

    moved = wake_after_use(token, used_at, (7, 1))

    assert moved == {
        "wake_pk": f"WAKE#{shard_of(TOKEN['id'])}",
        "wake_at": iso_epoch(used_at) + 16 * DAY,
        "inactivity_notified_days": None,
        "inactivity_not_before": None,
    }
    assert wake_after_use({**TOKEN, "expires_epoch": EXPIRES}, used_at, (7, 1)) == {}


def test_expiry_deadline_keeps_the_notices_sent():
    assert expiry_deadline({**TOKEN, "expires_epoch": EXPIRES, "notified_days": [7]}, (7, 1)) == Deadline(
        EXPIRES, (7, 1), (7,)
    )
    assert expiry_deadline(TOKEN, (7, 1)) is None


def test_shards_spread_tokens():
    import uuid

    shards = {shard_of(str(uuid.uuid4())) for _ in range(200)}
    assert shards == set(range(WAKE_SHARDS))
