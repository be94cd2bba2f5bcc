"""Staff logins (argon2, server-side sessions) and signed viewer tokens."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.domain.errors import InvalidInput, NotAuthenticated
from server.services.context import STAFF_ROLES, Actor, Services
from server.store import accounts
from server.store.models import StaffSessionRow, StaffUserRow


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked against when the username is unknown, so both failures take as long. Made
    on first use, on a worker thread (a tenth of a second at import, at every start)."""
    return _hasher().hash("podium-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_staff_user(
    s: Services, username: str, password: str, role: str, display_name: str | None = None
) -> StaffUserRow:
    if role not in STAFF_ROLES:
        raise InvalidInput(f"role must be one of {STAFF_ROLES}", fields={"role": "unknown role"})
    if len(password) < 10:
        raise InvalidInput("password too short", fields={"password": "at least 10 characters"})
    password_hash = await asyncio.to_thread(hash_password, password)
    async with s.db.write() as work:
        if await accounts.staff_by_username(work.session, username) is not None:
            raise InvalidInput("username taken", fields={"username": "already exists"})
        row = StaffUserRow(
            username=username,
            display_name=display_name or username,
            password_hash=password_hash,
            role=role,
            active=True,
            created_at=datetime.now(UTC),
        )
        work.session.add(row)
    return row


async def login(
    s: Services, username: str, password: str, client_key: str
) -> tuple[str, str, Actor]:
    """Check a password; return (session token, CSRF token, actor). Failures all look alike."""
    s.login_limiter.take(client_key)
    async with s.db.read() as session:
        user = await accounts.staff_by_username(session, username)
    # argon2 is deliberately slow: keep it off the event loop and outside any write lock.
    stored_hash = user.password_hash if user else None
    if not await asyncio.to_thread(_password_matches, stored_hash, password):
        raise NotAuthenticated("wrong username or password")
    if user is None or not user.active:
        raise NotAuthenticated("wrong username or password")
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(hours=s.settings.staff_session_hours)
    async with s.db.write() as work:
        work.session.add(
            StaffSessionRow(
                token_hash=_token_hash(token), user_id=user.id, csrf_token=csrf, expires_at=expires
            )
        )
    return token, csrf, staff_actor(user)


async def staff_from_session(s: Services, token: str) -> tuple[Actor, str]:
    """The staff member behind a session cookie, and that session's CSRF token."""
    async with s.db.read() as session:
        row = await accounts.staff_session(session, _token_hash(token))
        user = await session.get(StaffUserRow, row.user_id) if row else None
    if row is None or user is None or not user.active:
        raise NotAuthenticated("please log in")
    return staff_actor(user), row.csrf_token


async def logout(s: Services, token: str) -> None:
    async with s.db.write() as work:
        await accounts.delete_staff_session(work.session, _token_hash(token))


def staff_actor(user: StaffUserRow) -> Actor:
    return Actor(kind="staff", id=user.id, name=user.display_name, role=user.role)


def _password_matches(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches the hash (None: an unknown user's, which matches nothing,
    checked against a hash all the same)."""
    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def sign_viewer_token(secret_key: str, event_id: int, viewer_id: int) -> str:
    return f"{event_id}.{viewer_id}.{_viewer_mac(secret_key, event_id, viewer_id)}"


def verify_viewer_token(secret_key: str, token: str) -> tuple[int, int]:
    """Return (event_id, viewer_id) from a token this server signed, or refuse it."""
    try:
        event_part, viewer_part, mac = token.split(".")
        event_id, viewer_id = int(event_part), int(viewer_part)
    except (ValueError, AttributeError) as error:
        raise NotAuthenticated("invalid viewer token") from error
    if not hmac.compare_digest(mac, _viewer_mac(secret_key, event_id, viewer_id)):
        raise NotAuthenticated("invalid viewer token")
    return event_id, viewer_id


def _viewer_mac(secret_key: str, event_id: int, viewer_id: int) -> str:
    digest = hmac.new(
        secret_key.encode(), f"viewer:{event_id}:{viewer_id}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
