"""attendance log, check-ins, registrations, retention

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("attendance_salt", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("retention_days", sa.Integer(), nullable=False, server_default="30")
        )
        batch.add_column(
            sa.Column(
                "registration_enabled", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(sa.Column("purged_at", Moment, nullable=True))
    with op.batch_alter_table("viewers") as batch:
        batch.add_column(sa.Column("country", sa.String(2), nullable=True))
    op.create_table(
        "attendance_intervals",
        sa.Column("id", Id, nullable=False),
        sa.Column("event_id", Id, nullable=False),
        sa.Column("room_id", Id, nullable=False),
        sa.Column("viewer_key", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("started_at", Moment, nullable=False),
        sa.Column("last_seen_at", Moment, nullable=False),
        sa.Column("ended_at", Moment, nullable=True),
        sa.Column("end_reason", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_attendance_event_start", "attendance_intervals", ["event_id", "started_at"])
    op.create_index("ix_attendance_open", "attendance_intervals", ["ended_at", "last_seen_at"])
    op.create_table(
        "stream_periods",
        sa.Column("id", Id, nullable=False),
        sa.Column("room_id", Id, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("started_at", Moment, nullable=False),
        sa.Column("ended_at", Moment, nullable=True),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stream_periods_room", "stream_periods", ["room_id", "started_at"])
    op.create_table(
        "check_ins",
        sa.Column("id", Id, nullable=False),
        sa.Column("event_id", Id, nullable=False),
        sa.Column("room_id", Id, nullable=False),
        sa.Column("viewer_key", sa.String(64), nullable=False),
        sa.Column("at", Moment, nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("room_id", "viewer_key"),
    )
    op.create_table(
        "registrations",
        sa.Column("viewer_id", Id, nullable=False),
        sa.Column("event_id", Id, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("accessibility_needs", sa.Text(), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["viewer_id"], ["viewers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("viewer_id"),
    )


def downgrade() -> None:
    op.drop_table("registrations")
    op.drop_table("check_ins")
    op.drop_index("ix_stream_periods_room", "stream_periods")
    op.drop_table("stream_periods")
    op.drop_index("ix_attendance_open", "attendance_intervals")
    op.drop_index("ix_attendance_event_start", "attendance_intervals")
    op.drop_table("attendance_intervals")
    with op.batch_alter_table("viewers") as batch:
        batch.drop_column("country")
    with op.batch_alter_table("events") as batch:
        for column in ("purged_at", "registration_enabled", "retention_days", "attendance_salt"):
            batch.drop_column(column)
