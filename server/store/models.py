"""SQLAlchemy models. The schema itself is owned by the Alembic migrations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY, so big ids are plain integers there.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class EventRow(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    auto_approve: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    max_question_length: Mapped[int] = mapped_column(Integer, default=280)
    # Attendance is counted with keys hashed with this salt; deleting it at the end of the
    # retention window makes them impossible to link back to anyone.
    attendance_salt: Mapped[str | None] = mapped_column(String(64))
    retention_days: Mapped[int] = mapped_column(Integer, default=30)
    registration_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Last sequence number handed out on each broadcast stream of this event.
    public_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    staff_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RoomRow(Base):
    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("event_id", "slug"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    stream_status: Mapped[str] = mapped_column(String(16), default="scheduled")
    slate_message: Mapped[str | None] = mapped_column(String(300))
    recording_url: Mapped[str | None] = mapped_column(String(2000))
    active_role: Mapped[str] = mapped_column(String(16), default="primary")
    now_playing_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("agenda_sessions.id", ondelete="SET NULL", use_alter=True)
    )
    auto_advance: Mapped[bool] = mapped_column(Boolean, default=True)
    live_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # WebRTC: the SHA-256 of the room's WHIP publish token (the token itself is shown once),
    # and whether viewers, not only staff, may watch the ingest over WHEP.
    publish_token_hash: Mapped[str | None] = mapped_column(String(64))
    webrtc_viewers: Mapped[bool] = mapped_column(Boolean, default=False)


class AgendaSessionRow(Base):
    __tablename__ = "agenda_sessions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StaffUserRow(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StaffSessionRow(Base):
    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ViewerRow(Base):
    __tablename__ = "viewers"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    display_name: Mapped[str | None] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(16), default="remote")
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    country: Mapped[str | None] = mapped_column(String(2))  # self-declared or from time zone
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class QuestionRow(Base):
    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("viewer_id", "client_id", name="uq_question_client_id"),
        # A stage shows one question at a time, whatever the application does.
        Index(
            "uq_one_question_on_stage",
            "stage_room_id",
            unique=True,
            sqlite_where=text("state = 'on_stage'"),
            postgresql_where=text("state = 'on_stage'"),
        ),
        Index("ix_questions_event_state", "event_id", "state"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    viewer_id: Mapped[int] = mapped_column(ForeignKey("viewers.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("agenda_sessions.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(16))
    author_name: Mapped[str | None] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(Text)
    original_text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    starred: Mapped[bool] = mapped_column(Boolean, default=False)
    reject_reason: Mapped[str | None] = mapped_column(String(32))
    stage_room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"))
    queue_position: Mapped[int | None] = mapped_column(Integer)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id"))
    forwarded_from_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("agenda_sessions.id", ondelete="SET NULL")
    )
    votes: Mapped[int] = mapped_column(Integer, default=0)
    # Optimistic concurrency: every state move bumps it, and an update that finds another
    # version than the one it read changes nothing.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VoteRow(Base):
    __tablename__ = "votes"

    # One vote per viewer per question, enforced here rather than trusted to the app.
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    viewer_id: Mapped[int] = mapped_column(
        ForeignKey("viewers.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_event", "event_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id"))
    actor_kind: Mapped[str] = mapped_column(String(16))  # staff | viewer | system
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(48))
    reason: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BroadcastRow(Base):
    """Every broadcast, in the order its stream numbered it, for catch-up after reconnect."""

    __tablename__ = "broadcasts"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(8), primary_key=True)  # public | staff
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StreamSourceRow(Base):
    """One feed of a room: its primary and backup programme, audio-only, or interpreter."""

    __tablename__ = "stream_sources"
    __table_args__ = (UniqueConstraint("room_id", "role"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))  # primary | backup | audio | interpreter
    kind: Mapped[str] = mapped_column(String(16))  # hls | embed | audio | webrtc
    url: Mapped[str] = mapped_column(String(2000))
    label: Mapped[str] = mapped_column(String(100), default="")
    health: Mapped[str] = mapped_column(String(16), default="unknown")  # unknown | ok | failing
    health_reason: Mapped[str | None] = mapped_column(String(300))
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CaptionTokenRow(Base):
    """Lets one captioner (or a speech-to-text service) post captions for one room."""

    __tablename__ = "caption_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CaptionLineRow(Base):
    __tablename__ = "caption_lines"
    __table_args__ = (UniqueConstraint("room_id", "seq"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AttendanceIntervalRow(Base):
    """One continuous stretch of one viewer watching one room with the page visible."""

    __tablename__ = "attendance_intervals"
    __table_args__ = (
        Index("ix_attendance_event_start", "event_id", "started_at"),
        Index("ix_attendance_open", "ended_at", "last_seen_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    viewer_key: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(16))


class CheckInRow(Base):
    """A delegate in the room scanned the stage screen's QR code."""

    __tablename__ = "check_ins"
    __table_args__ = (UniqueConstraint("room_id", "viewer_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    viewer_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RegistrationRow(Base):
    """What an event that asks for registration holds about a viewer, with their consent."""

    __tablename__ = "registrations"

    viewer_id: Mapped[int] = mapped_column(
        ForeignKey("viewers.id", ondelete="CASCADE"), primary_key=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    accessibility_needs: Mapped[str] = mapped_column(Text, default="")
    consent: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StreamPeriodRow(Base):
    """Which source a room was playing, from when to when: watch time is attributed by it."""

    __tablename__ = "stream_periods"
    __table_args__ = (Index("ix_stream_periods_room", "room_id", "started_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
