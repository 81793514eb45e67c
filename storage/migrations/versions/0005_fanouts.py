"""fan-out rows: deliveries are written page by page, not in the entry's transaction

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fanouts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("below_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("matched_words", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["entries.id"],
            name=op.f("fk_fanouts_entry_id_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_fanouts_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fanouts")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_fanouts_entry_id")),
    )
    op.create_index(
        "ix_chats_fanout",
        "chats",
        [
            "id",
            "active",
            "paused",
            "has_region_filter",
            "has_speaker_filter",
            "has_keyword_filter",
        ],
    )
    # The fan-out pages through a source's subscribers and checks when each subscribed.
    op.drop_index("ix_subscriptions_source", table_name="subscriptions")
    op.create_index(
        "ix_subscriptions_source", "subscriptions", ["source_id", "chat_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_chats_fanout", table_name="chats")
    op.drop_index("ix_subscriptions_source", table_name="subscriptions")
    op.create_index("ix_subscriptions_source", "subscriptions", ["source_id", "chat_id"])
    op.drop_table("fanouts")
