"""Staff users, their login sessions, and anonymous viewers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.errors import NotFound
from server.store.models import StaffSessionRow, StaffUserRow, ViewerRow


async def staff_by_username(session: AsyncSession, username: str) -> StaffUserRow | None:
    query = select(StaffUserRow).where(StaffUserRow.username == username)
    return (await session.execute(query)).scalar_one_or_none()


async def staff_list(session: AsyncSession) -> list[StaffUserRow]:
    return list((await session.execute(select(StaffUserRow).order_by(StaffUserRow.id))).scalars())


async def staff_session(session: AsyncSession, token_hash: str) -> StaffSessionRow | None:
    row = await session.get(StaffSessionRow, token_hash)
    if row is None or row.expires_at.replace(tzinfo=UTC) <= datetime.now(UTC):
        return None
    return row


async def delete_staff_session(session: AsyncSession, token_hash: str) -> None:
    await session.execute(delete(StaffSessionRow).where(StaffSessionRow.token_hash == token_hash))


async def viewer(session: AsyncSession, event_id: int, viewer_id: int) -> ViewerRow:
    row = await session.get(ViewerRow, viewer_id)
    if row is None or row.event_id != event_id:
        raise NotFound(f"viewer {viewer_id} does not exist in this event")
    return row
