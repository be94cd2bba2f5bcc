"""webcast relay: stream sources, room stream state, captions, forwarded questions

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(
            sa.Column("stream_status", sa.String(16), nullable=False, server_default="scheduled")
        )
        batch.add_column(sa.Column("slate_message", sa.String(300), nullable=True))
        batch.add_column(sa.Column("recording_url", sa.String(2000), nullable=True))
        batch.add_column(
            sa.Column("active_role", sa.String(16), nullable=False, server_default="primary")
        )
        batch.add_column(sa.Column("now_playing_session_id", Id, nullable=True))
        batch.add_column(
            sa.Column("auto_advance", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("live_started_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            "fk_rooms_now_playing_session",
            "agenda_sessions",
            ["now_playing_session_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("questions") as batch:
        batch.add_column(sa.Column("forwarded_from_session_id", Id, nullable=True))
        batch.create_foreign_key(
            "fk_questions_forwarded_from_session",
            "agenda_sessions",
            ["forwarded_from_session_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "stream_sources",
        sa.Column("id", Id, nullable=False),
        sa.Column("room_id", Id, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("health", sa.String(16), nullable=False),
        sa.Column("health_reason", sa.String(300), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("room_id", "role"),
    )
    op.create_table(
        "caption_tokens",
        sa.Column("id", Id, nullable=False),
        sa.Column("room_id", Id, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "caption_lines",
        sa.Column("id", Id, nullable=False),
        sa.Column("room_id", Id, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("room_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("caption_lines")
    op.drop_table("caption_tokens")
    op.drop_table("stream_sources")
    with op.batch_alter_table("questions") as batch:
        batch.drop_constraint("fk_questions_forwarded_from_session", type_="foreignkey")
        batch.drop_column("forwarded_from_session_id")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_constraint("fk_rooms_now_playing_session", type_="foreignkey")
        for column in (
            "live_started_at",
            "auto_advance",
            "now_playing_session_id",
            "active_role",
            "recording_url",
            "slate_message",
            "stream_status",
        ):
            batch.drop_column(column)
