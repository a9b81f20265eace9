"""Contact history: one row per customer in an exported channel file (contact caps, issue 19).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05

Written out (not ``metadata.create_all``) so this revision stays frozen when the models change.
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("campaign_id", sa.Integer, nullable=True),
        sa.Column("audience", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(50), nullable=False),
        sa.Column("contacted_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contacts"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name="fk_contacts_campaign_id_campaigns",
                                ondelete="SET NULL"),
    )
    op.create_index("ix_contacts_customer_id", "contacts", ["customer_id"])
    op.create_index("ix_contacts_campaign_id", "contacts", ["campaign_id"])
    op.create_index("ix_contacts_contacted_at", "contacts", ["contacted_at"])


def downgrade() -> None:
    op.drop_index("ix_contacts_contacted_at", table_name="contacts")
    op.drop_index("ix_contacts_campaign_id", table_name="contacts")
    op.drop_index("ix_contacts_customer_id", table_name="contacts")
    op.drop_table("contacts")
