"""PostgreSQL connections are pinged when they come out of the pool after lying idle.

SQLAlchemy's `pool_pre_ping` pings on every checkout, and asyncpg's ping is three round
trips (BEGIN, an empty query, ROLLBACK). Under load that is three of a write batch's seven
round trips, each waiting its turn on a busy event loop, for a connection that was in use
a moment before. A connection that has just been checked in is known to be alive; one
that has lain idle may have been cut (the server restarted, or an idle timeout on the way),
so only those are pinged, as `pool_pre_ping` would: one that fails is replaced, and every
connection pooled before it with it. A connection cut within the idle time fails the one
statement that finds it, and the pool is renewed then (SQLAlchemy's disconnect handling).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine

# Idle for longer than this, a connection is pinged before it is handed out.
PING_AFTER_IDLE_S = 2.0

_IDLE_SINCE = "podium_idle_since"


def ping_when_idle(engine: AsyncEngine) -> None:
    """Ping `engine`'s pooled connections on checkout once they have been idle a while
    (use it instead of `pool_pre_ping`)."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _idle_from_now(dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return  # new, or in use a moment ago
        try:
            dbapi_connection.ping()
        except Exception as error:
            # As a failed pre-ping: this connection and every one pooled before it go.
            raise exc.InvalidatePoolError() from error
