"""webrtc: a room's publish token (hashed) and whether viewers may watch over WebRTC

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("publish_token_hash", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("webrtc_viewers", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("webrtc_viewers")
        batch.drop_column("publish_token_hash")
