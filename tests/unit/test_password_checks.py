"""Password checks: argon2 hashes, and an unknown user checked against a hash all the same."""

from __future__ import annotations

from server.services import auth


def test_a_password_matches_its_own_hash_only():
    stored = auth.hash_password("a long enough password")

    assert auth._password_matches(stored, "a long enough password")
    assert not auth._password_matches(stored, "a long enough passwore")
    assert not auth._password_matches("not an argon2 hash", "a long enough password")


def test_an_unknown_user_matches_nothing_not_even_the_stand_in_hashs_own_password():
    assert not auth._password_matches(None, "a long enough password")
    assert not auth._password_matches(None, "podium-timing-equaliser")
    assert auth._dummy_hash().startswith("$argon2")  # a real hash was checked against
