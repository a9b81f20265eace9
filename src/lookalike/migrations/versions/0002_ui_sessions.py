"""UI login sessions kept server-side (revoked on logout, bound to the user's key generation).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Written out (not ``metadata.create_all``) so this revision stays frozen when the models change.
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ui_sessions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("key_prefix", sa.String(12), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ui_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_ui_sessions_token_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["api_users.id"], name="fk_ui_sessions_user_id_api_users",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_ui_sessions_user_id", "ui_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_ui_sessions_user_id", table_name="ui_sessions")
    op.drop_table("ui_sessions")
