"""Staff users, their login sessions, and anonymous viewers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.errors import NotFound
from server.store.models import (
    QuestionRow,
    RegistrationRow,
    StaffSessionRow,
    StaffUserRow,
    ViewerRow,
)


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


async def viewer_ids(session: AsyncSession, event_id: int) -> list[int]:
    query = select(ViewerRow.id).where(ViewerRow.event_id == event_id)
    return list((await session.execute(query)).scalars())


async def anonymise_viewers(session: AsyncSession, ids: list[int]) -> None:
    """Drop names, countries and registrations; questions stay, with no author shown."""
    if not ids:
        return
    await session.execute(
        update(ViewerRow)
        .where(ViewerRow.id.in_(ids))
        .values(display_name=None, country=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(QuestionRow)
        .where(QuestionRow.viewer_id.in_(ids))
        .values(author_name=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(RegistrationRow).where(RegistrationRow.viewer_id.in_(ids)))
