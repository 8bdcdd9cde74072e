"""What one instance remembers of its verifications (tokens/verification_cache.py): a refused secret
is refused again without a read, and that never hides a token created or rotated since; the
opt-in copy of a valid secret's token, and how late it sees a revocation; the bounds."""

from __future__ import annotations

import sys
import tracemalloc
import uuid
from datetime import timedelta

import pytest

from tests.unit.conftest import ACME, META, iso
from tests.unit.test_token_reads_and_verify import report, tampered
from tokensmith.settings import Settings
from tokensmith.tokens import format as token_format
from tokensmith.tokens.leaks import LeakedTokenRevoker
from tokensmith.tokens.verification_cache import REFUSALS_REMEMBERED, BoundedLru, VerificationCache


def forged_for(token_id: str) -> str:
    """A well-formed secret (the checksum is public) carrying ``token_id``, opening nothing."""
    return token_format.generate("tks", token_id)


def unknown_id() -> str:
    return str(uuid.uuid4())


# --- refusals: one read per forged secret --------------------------------------------------------------


def test_a_forged_secret_for_an_unknown_id_costs_one_read_however_often_it_comes(tokens, repository):
    # Given a well-formed secret whose id no token has
    forged = forged_for(unknown_id())

    # When it is presented a thousand times
    codes = {tokens.verify(ACME, forged, [], META).code for _ in range(1000)}

    # Then it is refused every time, after one read
    assert codes == {"NOT_FOUND"}
    assert len(repository.reads) == 1


def test_a_wrong_secret_for_a_real_id_costs_one_read_however_often_it_comes(tokens, repository, token):
    # Given a forgery carrying a real token's id
    forged = forged_for(token.id)

    # When it is presented a thousand times
    codes = {tokens.verify(ACME, forged, [], META).code for _ in range(1000)}

    # Then it is refused after one read, and the token's own secret still verifies (with one more read)
    assert codes == {"NOT_FOUND"}
    assert repository.reads == [token.id]
    assert tokens.verify(ACME, token.secret, [], META).valid
    assert repository.reads == [token.id, token.id]


def test_different_forgeries_for_one_id_each_cost_a_read(tokens, repository, token):
    # When three different forgeries carry the same real id, Then each is read once (their digests differ)
    for _ in range(3):
        assert tokens.verify(ACME, forged_for(token.id), [], META).code == "NOT_FOUND"
    assert len(repository.reads) == 3


def test_a_typo_costs_no_read_and_is_not_remembered(tokens, repository, token):
    # When a secret with a wrong checksum is presented, Then it is refused before any read or memory
    assert tokens.verify(ACME, tampered(token.secret), [], META).code == "NOT_FOUND"
    assert repository.reads == [] and len(tokens.verification_cache.refusals) == 0


def test_a_token_created_after_a_refused_unknown_id_verifies(tokens, repository, given_token):
    # Given an unknown id refused (and remembered)
    assert tokens.verify(ACME, forged_for(unknown_id()), [], META).code == "NOT_FOUND"

    # When a token is created afterwards (a fresh random id, so a different one)
    created = given_token(name="later")

    # Then its secret verifies
    assert tokens.verify(ACME, created.secret, [], META).valid


def test_a_rotated_tokens_new_secret_verifies_after_forged_and_old_secrets_were_refused(tokens, repository, token):
    # Given a forgery for the token refused, then a rotation without grace and the old secret refused
    assert tokens.verify(ACME, forged_for(token.id), [], META).code == "NOT_FOUND"
    _, new_secret = tokens.rotate_token(ACME, token.id, 0, META)
    assert tokens.verify(ACME, token.secret, [], META).code == "NOT_FOUND"

    # When the new secret is presented, Then it verifies: a rotation makes only a fresh secret valid
    assert tokens.verify(ACME, new_secret, [], META).valid


def test_a_rotated_out_secret_refused_after_its_grace_is_refused_without_a_read(tokens, repository, token, clock):
    # Given a rotation with a minute of grace, during which the old secret still verifies
    tokens.rotate_token(ACME, token.id, 60, META)
    assert tokens.verify(ACME, token.secret, [], META).valid

    # When the grace is over, Then the old secret is refused, then refused again without a read
    clock.advance(61)
    assert tokens.verify(ACME, token.secret, [], META).code == "NOT_FOUND"
    reads = len(repository.reads)
    assert tokens.verify(ACME, token.secret, [], META).code == "NOT_FOUND"
    assert len(repository.reads) == reads


def test_an_ended_token_is_not_a_refusal_to_remember(tokens, repository, token):
    # Given a disabled token: its secret opens it, so the answer is DISABLED, not a refusal
    tokens.disable_token(ACME, token.id, META)
    assert tokens.verify(ACME, token.secret, [], META).code == "DISABLED"

    # When it is enabled again, Then its secret verifies at once
    tokens.enable_token(ACME, token.id, META)
    assert tokens.verify(ACME, token.secret, [], META).valid


def test_a_forged_secret_reported_twice_as_leaked_is_read_once(repository, settings, clock, token):
    # Given the worker of one instance
    revoker = LeakedTokenRevoker(repository, settings, now=clock)
    nobody = unknown_id()
    forgeries = [forged_for(token.id), forged_for(nobody)]

    # When the same forgeries are reported twice
    assert report(revoker, forgeries) == 0
    assert report(revoker, forgeries) == 0

    # Then only the first report read the table; the real token is untouched
    assert [sorted(ids) for ids in repository.batch_reads] == [sorted([token.id, nobody])]
    assert repository.writes == []


def test_a_leaked_real_secret_reported_after_a_forgery_for_its_id_is_revoked(repository, settings, clock, token):
    # Given a forgery for the token's id reported and found to open nothing
    revoker = LeakedTokenRevoker(repository, settings, now=clock)
    assert report(revoker, [forged_for(token.id)]) == 0

    # When the real secret is reported, Then the token is revoked
    assert report(revoker, [token.secret]) == 1
    assert repository.tokens[token.id]["status"] == "revoked"


# --- the bound ------------------------------------------------------------------------------------------


def test_the_least_recently_used_entry_goes_first_and_the_count_never_passes_the_bound():
    # Given an LRU of three, whose oldest entry was just used
    lru = BoundedLru(3)
    for key in ("a", "b", "c"):
        lru.put(key)
    assert "a" in lru

    # When two more arrive
    lru.put("d")
    lru.put("e")

    # Then the two least recently used are gone, and three remain
    assert len(lru) == 3
    assert ["a" in lru, "b" in lru, "c" in lru, "d" in lru, "e" in lru] == [True, False, False, True, True]


def test_a_flood_of_distinct_forgeries_keeps_the_refusals_at_their_bound_and_under_3_mb():
    # Given an instance's cache, and its memory before
    cache = VerificationCache()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]

    # When twice as many distinct refusals as it keeps arrive (ids and digests, as a flood makes them)
    for number in range(REFUSALS_REMEMBERED):
        cache.remember_absent(str(uuid.uuid4()))
        cache.remember_wrong(token_format.digest(f"forgery {number}"))
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()

    # Then it keeps exactly its bound, in bounded memory (docs/performance.md gives the figure)
    assert len(cache.refusals) == REFUSALS_REMEMBERED
    assert held < 3 * 1024 * 1024, f"{held:,} bytes"
    assert sys.getsizeof(cache.refusals) < 1024  # the LRU object itself; its entries are the held bytes


# --- the opt-in copy of valid secrets' tokens (VerifyCacheSeconds) -------------------------------------------


def test_without_the_setting_every_valid_verification_reads(tokens, repository, token):
    # When a valid secret is verified three times with the default (0 seconds), Then three reads
    for _ in range(3):
        assert tokens.verify(ACME, token.secret, [], META).valid
    assert repository.reads == [token.id] * 3


def test_with_the_setting_a_valid_secret_is_read_once_per_period(cached_tokens, repository, token, clock):
    # When the secret is verified a hundred times in the first 4.9 seconds, then once at 5
    start = clock()
    for step in range(100):
        clock.advance(0.049 if step else 0)
        assert cached_tokens.verify(ACME, token.secret, [], META).valid
    clock.moment = start + timedelta(seconds=5)
    assert cached_tokens.verify(ACME, token.secret, [], META).valid

    # Then two reads in all
    assert repository.reads == [token.id, token.id]


def test_a_revoked_token_is_refused_at_most_the_setting_later(cached_tokens, tokens, repository, token, clock):
    # Given an instance that has just verified the secret (its token copied for 5 s)
    assert cached_tokens.verify(ACME, token.secret, [], META).valid

    # When another instance revokes the token a moment later
    clock.advance(1)
    tokens.revoke_token(ACME, token.id, "compromised", META)

    # Then this instance still says VALID until 5 s after its read, and REVOKED from then on
    clock.advance(3.9)
    assert cached_tokens.verify(ACME, token.secret, [], META).valid
    clock.advance(0.1)
    assert cached_tokens.verify(ACME, token.secret, [], META).code == "REVOKED"


def test_without_the_setting_a_revoked_token_is_refused_at_once(tokens, repository, token):
    # Given a verified secret, When its token is revoked, Then the next verification refuses it
    assert tokens.verify(ACME, token.secret, [], META).valid
    tokens.revoke_token(ACME, token.id, "compromised", META)
    assert tokens.verify(ACME, token.secret, [], META).code == "REVOKED"


def test_a_copied_token_still_expires_on_time(cached_tokens, repository, given_token, clock):
    # Given a token that expires in 2 seconds, verified (and copied)
    soon = given_token(name="soon", expires_at=iso(clock() + timedelta(seconds=2)))
    assert cached_tokens.verify(ACME, soon.secret, [], META).valid

    # When 2 seconds pass, Then the copy answers EXPIRED without a read
    clock.advance(2)
    assert cached_tokens.verify(ACME, soon.secret, [], META).code == "EXPIRED"
    assert repository.reads == [soon.id]


def test_an_answer_from_the_copy_writes_no_last_use(cached_tokens, repository, token, clock):
    # Given a first verification that stamped the last use
    assert cached_tokens.verify(ACME, token.secret, [], META).valid
    repository.forget_writes()

    # When the copy answers the next ones, Then nothing is written
    for _ in range(10):
        assert cached_tokens.verify(ACME, token.secret, [], META).valid
    assert repository.writes == []


def test_the_copy_is_keyed_by_secret_so_a_forgery_for_a_copied_id_is_still_refused(cached_tokens, token):
    # Given the token's real secret verified and copied, When a forgery carrying its id comes, Then it is refused
    assert cached_tokens.verify(ACME, token.secret, [], META).valid
    assert cached_tokens.verify(ACME, forged_for(token.id), [], META).code == "NOT_FOUND"


@pytest.mark.parametrize("value", ["6", "-1", "five", "2.5"])
def test_the_setting_outside_0_to_5_is_refused_naming_the_variable(value):
    with pytest.raises(ValueError, match="VERIFY_CACHE_SECONDS must be an integer from 0 to 5"):
        Settings.from_environ({"VERIFY_CACHE_SECONDS": value})


def test_the_setting_defaults_to_off_and_takes_0_to_5():
    assert Settings.from_environ({}).verify_cache_seconds == 0
    assert [Settings.from_environ({"VERIFY_CACHE_SECONDS": str(n)}).verify_cache_seconds for n in range(6)] == list(
        range(6)
    )


def test_a_cache_of_more_than_5_seconds_cannot_be_built():
    with pytest.raises(ValueError, match="0 to 5 seconds"):
        VerificationCache(6)


# --- the copy never skips the usage policies (tokens.verification.apply_policies) ----------------------


def test_a_token_with_3_credits_served_from_the_copy_still_stops_after_3(cached_tokens, repository, given_token):
    # Given a token with 3 credits
    issued = given_token(name="metered", credits={"remaining": 3})

    # When it is verified five times within the copy's 5 seconds
    results = [cached_tokens.verify(ACME, issued.secret, [], META) for _ in range(5)]

    # Then one read, the other four answered from the copy, and the credits still stop it after 3
    assert repository.reads == [issued.id]
    assert [result.cached for result in results] == [False, True, True, True, True]
    assert [result.code for result in results] == ["VALID"] * 3 + ["USAGE_EXCEEDED"] * 2
    assert repository.credit_counters[issued.id]["remaining"] == 0


def test_a_rate_limited_token_served_from_the_copy_is_counted_every_time(cached_tokens, repository, given_token):
    # Given a token limited to 2 a minute
    issued = given_token(name="limited", ratelimits=[{"name": "minute", "limit": 2, "duration_seconds": 60}])

    # When it is verified three times within the copy's 5 seconds
    codes = [cached_tokens.verify(ACME, issued.secret, [], META).code for _ in range(3)]

    # Then the third is over the limit, though only the first read the token
    assert codes == ["VALID", "VALID", "RATE_LIMITED"]
    assert repository.reads == [issued.id]


def test_an_allowlisted_token_served_from_the_copy_is_still_refused_from_outside(
    cached_tokens, repository, given_token
):
    # Given an allowlisted token verified (and copied) from inside its allowlist
    issued = given_token(name="fenced", allowed_cidrs=["10.0.0.0/8"])
    assert cached_tokens.verify(ACME, issued.secret, [], META, ip="10.1.2.3").valid

    # When the copy answers for a client outside it, Then it is refused, without a second read
    refused = cached_tokens.verify(ACME, issued.secret, [], META, ip="192.0.2.1")
    assert (refused.code, refused.cached) == ("IP_NOT_ALLOWED", True)
    assert repository.reads == [issued.id]
