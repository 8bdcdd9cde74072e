import hashlib
import uuid

import pytest

from tokensmith.tokens import format as token_format


@pytest.fixture
def token_id() -> str:
    return str(uuid.uuid4())


def test_a_secret_carries_its_token_id_and_parses_back(token_id):
    secret = token_format.generate("tks", token_id)

    assert secret.startswith("tks_")
    assert len(secret) == len("tks_") + token_format.PAYLOAD_CHARS + token_format.CHECKSUM_CHARS
    assert token_format.parse(secret, "tks") == token_id


def test_two_secrets_for_the_same_id_differ_in_their_random_part(token_id):
    first, second = (token_format.generate("tks", token_id) for _ in range(2))

    assert first != second
    assert token_format.parse(first, "tks") == token_format.parse(second, "tks") == token_id


@pytest.mark.parametrize("position", [4, 20, 40, 68, -1])
def test_any_single_character_typo_fails_the_checksum(token_id, position):
    secret = token_format.generate("tks", token_id)
    index = position % len(secret)
    replacement = "A" if secret[index] != "A" else "B"
    typo = secret[:index] + replacement + secret[index + 1 :]

    with pytest.raises(token_format.InvalidSecret):
        token_format.parse(typo, "tks")


@pytest.mark.parametrize(
    "candidate",
    ["", "tks_", "Bearer tks_abc", "ghp_" + "a" * 71, "tks_" + "!" * 71],
)
def test_malformed_strings_are_rejected_without_any_lookup(candidate):
    with pytest.raises(token_format.InvalidSecret):
        token_format.parse(candidate, "tks")


def test_a_secret_of_another_prefix_is_rejected(token_id):
    secret = token_format.generate("abc", token_id)

    with pytest.raises(token_format.InvalidSecret):
        token_format.parse(secret, "tks")


def test_a_truncated_secret_is_rejected(token_id):
    secret = token_format.generate("tks", token_id)

    with pytest.raises(token_format.InvalidSecret):
        token_format.parse(secret[:-1], "tks")


def test_the_digest_is_the_sha256_of_the_whole_secret(token_id):
    secret = token_format.generate("tks", token_id)

    assert token_format.digest(secret) == hashlib.sha256(secret.encode()).hexdigest()
    assert token_format.digests_match(token_format.digest(secret), token_format.digest(secret))
    assert not token_format.digests_match(token_format.digest(secret), None)


def test_the_displayed_start_shows_only_the_id_part_of_the_payload(token_id):
    secret = token_format.generate("tks", token_id)
    start = token_format.start_of(secret)

    assert secret.startswith(start)
    assert len(start) == len("tks_") + token_format.START_CHARS
    # The first characters encode the top bits of the payload, which are the id's: a second secret
    # for the same id starts the same way, so the start gives away none of the random part.
    other = token_format.generate("tks", token_id)
    assert token_format.start_of(other)[:8] == start[:8]


def test_the_random_part_has_256_bits(token_id, monkeypatch):
    seen = []
    real = token_format.secrets.token_bytes

    def spy(n):
        seen.append(n)
        return real(n)

    monkeypatch.setattr(token_format.secrets, "token_bytes", spy)
    token_format.generate("tks", token_id)

    assert seen == [32]
