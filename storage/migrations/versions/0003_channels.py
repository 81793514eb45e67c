"""channel administrators: who added the bot to a channel, who bound it

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 05:25:00

One row per (channel, user) the bot knows as an administrator of a channel (issue 6):
``added_bot`` (offered in /channel), ``bound`` (bound it with /channel, may manage it),
``told_gone`` (was told once that the bot lost the channel). The channel itself is a row in
``chats`` (type "channel"); the private chat's ``managing_chat_id`` points at the managed one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_admins",
        sa.Column("channel_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("added_bot", sa.Boolean(), nullable=False),
        sa.Column("bound", sa.Boolean(), nullable=False),
        sa.Column("told_gone", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["chats.id"],
            name=op.f("fk_channel_admins_channel_id_chats"),
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", "user_id", name=op.f("pk_channel_admins")),
    )
    with op.batch_alter_table("channel_admins", schema=None) as batch_op:
        batch_op.create_index("ix_channel_admins_user", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("channel_admins", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_admins_user")
    op.drop_table("channel_admins")
