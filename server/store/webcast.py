"""Stream sources of rooms, caption tokens and caption lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.store.models import (
    CaptionLineRow,
    CaptionTokenRow,
    RoomRow,
    StreamPeriodRow,
    StreamSourceRow,
)


async def sources_of(session: AsyncSession, room_ids: Sequence[int]) -> list[StreamSourceRow]:
    query = select(StreamSourceRow).where(StreamSourceRow.room_id.in_(list(room_ids)))
    return list((await session.execute(query.order_by(StreamSourceRow.id))).scalars())


async def source(session: AsyncSession, room_id: int, role: str) -> StreamSourceRow | None:
    query = select(StreamSourceRow).where(
        StreamSourceRow.room_id == room_id, StreamSourceRow.role == role
    )
    return (await session.execute(query)).scalar_one_or_none()


async def remove_source(session: AsyncSession, room_id: int, role: str) -> bool:
    result = await session.execute(
        delete(StreamSourceRow).where(
            StreamSourceRow.room_id == room_id, StreamSourceRow.role == role
        )
    )
    return result.rowcount == 1


async def live_rooms(session: AsyncSession) -> list[RoomRow]:
    query = select(RoomRow).where(RoomRow.stream_status == "live")
    return list((await session.execute(query)).scalars())


async def auto_advancing_rooms(session: AsyncSession) -> list[RoomRow]:
    query = select(RoomRow).where(RoomRow.auto_advance.is_(True))
    return list((await session.execute(query)).scalars())


async def caption_token(session: AsyncSession, token_hash: str) -> CaptionTokenRow | None:
    query = select(CaptionTokenRow).where(
        CaptionTokenRow.token_hash == token_hash, CaptionTokenRow.revoked.is_(False)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def caption_tokens(session: AsyncSession, room_ids: Sequence[int]) -> list[CaptionTokenRow]:
    query = select(CaptionTokenRow).where(CaptionTokenRow.room_id.in_(list(room_ids)))
    return list((await session.execute(query.order_by(CaptionTokenRow.id))).scalars())


async def add_caption_line(
    session: AsyncSession, room_id: int, text: str, at: datetime
) -> CaptionLineRow:
    """Number the line after the room's last one; the unique (room, seq) guards races."""
    last = await session.execute(
        select(func.coalesce(func.max(CaptionLineRow.seq), 0)).where(
            CaptionLineRow.room_id == room_id
        )
    )
    row = CaptionLineRow(room_id=room_id, seq=last.scalar_one() + 1, text=text, at=at)
    session.add(row)
    await session.flush()
    return row


async def caption_lines(
    session: AsyncSession, room_id: int, *, newest: int | None = None
) -> list[CaptionLineRow]:
    """All of a room's caption lines in order, or only the `newest` few."""
    query = select(CaptionLineRow).where(CaptionLineRow.room_id == room_id)
    if newest is None:
        return list((await session.execute(query.order_by(CaptionLineRow.seq))).scalars())
    rows = await session.execute(query.order_by(CaptionLineRow.seq.desc()).limit(newest))
    return list(reversed(list(rows.scalars())))


async def mark_live(session: AsyncSession, room_id: int) -> None:
    """Set a room live without checking its source (the demo's streams start after seeding)."""
    room = await session.get(RoomRow, room_id)
    room.stream_status = "live"
    room.live_started_at = room.live_started_at or datetime.now(UTC)


async def begin_stream_period(
    session: AsyncSession, room_id: int, source: StreamSourceRow | None, at: datetime
) -> None:
    """Close the room's current stream period and, if it plays something, open the next."""
    await session.execute(
        update(StreamPeriodRow)
        .where(StreamPeriodRow.room_id == room_id, StreamPeriodRow.ended_at.is_(None))
        .values(ended_at=at)
        .execution_options(synchronize_session=False)
    )
    if source is not None:
        session.add(
            StreamPeriodRow(
                room_id=room_id,
                role=source.role,
                kind=source.kind,
                label=source.label,
                started_at=at,
            )
        )


async def stream_periods(session: AsyncSession, room_ids: Sequence[int]) -> list[StreamPeriodRow]:
    query = select(StreamPeriodRow).where(StreamPeriodRow.room_id.in_(list(room_ids)))
    return list((await session.execute(query.order_by(StreamPeriodRow.started_at))).scalars())


async def open_stream_period(session: AsyncSession, room_id: int) -> StreamPeriodRow | None:
    query = select(StreamPeriodRow).where(
        StreamPeriodRow.room_id == room_id, StreamPeriodRow.ended_at.is_(None)
    )
    return (await session.execute(query)).scalars().first()


async def room_by_id(session: AsyncSession, room_id: int) -> RoomRow | None:
    """A room found from its id alone: WHIP and WHEP paths carry no event slug."""
    return await session.get(RoomRow, room_id)
