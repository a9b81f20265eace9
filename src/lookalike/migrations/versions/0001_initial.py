"""Initial schema: campaigns, audience versions, assignments, outcomes, costs, API users, erasure log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Written out table by table (not ``metadata.create_all``) so this revision stays frozen when
the models change later; a test checks that it matches ``lookalike.database.metadata``.
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("channel", sa.String(50), nullable=True),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("holdout_share", sa.Double, nullable=False),
        sa.Column("stratify", sa.String(100), nullable=True),
        sa.Column("status", sa.String(20), nullable=False, server_default="draft"),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
        sa.UniqueConstraint("name", name="uq_campaigns_name"),
        sa.CheckConstraint("holdout_share > 0 AND holdout_share < 1", name="ck_campaigns_holdout_share_range"),
    )
    op.create_table(
        "audience_versions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("campaign_id", sa.Integer, nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("audience_hash", sa.String(128), nullable=False),
        sa.Column("manifest", sa.Text, nullable=False),
        sa.Column("n_customers", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audience_versions"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE",
                                name="fk_audience_versions_campaign_id_campaigns"),
    )
    op.create_index("ix_audience_versions_campaign_id", "audience_versions", ["campaign_id"])
    op.create_table(
        "assignments",
        sa.Column("campaign_id", sa.Integer, nullable=False),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("audience_version_id", sa.Integer, nullable=False),
        sa.Column("arm", sa.String(20), nullable=False),
        sa.Column("bucket", sa.Integer, nullable=False),
        sa.Column("stratum", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", "customer_id", name="pk_assignments"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE",
                                name="fk_assignments_campaign_id_campaigns"),
        sa.ForeignKeyConstraint(["audience_version_id"], ["audience_versions.id"], ondelete="CASCADE",
                                name="fk_assignments_audience_version_id_audience_versions"),
        sa.CheckConstraint("arm IN ('treatment', 'control')", name="ck_assignments_arm_valid"),
    )
    op.create_table(
        "outcomes",
        sa.Column("campaign_id", sa.Integer, nullable=False),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("sends", sa.Integer, nullable=False, server_default="0"),
        sa.Column("opens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("clicks", sa.Integer, nullable=False, server_default="0"),
        sa.Column("conversions", sa.Integer, nullable=False, server_default="0"),
        sa.Column("revenue", sa.Double, nullable=False, server_default="0"),
        sa.Column("imported_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "customer_id", name="pk_outcomes"),
        sa.ForeignKeyConstraint(["campaign_id", "customer_id"], ["assignments.campaign_id", "assignments.customer_id"],
                                ondelete="CASCADE", name="fk_outcomes_assignment"),
        sa.CheckConstraint("revenue >= 0", name="ck_outcomes_revenue_nonnegative"),
        sa.CheckConstraint("sends >= 0 AND opens >= 0 AND clicks >= 0 AND conversions >= 0",
                           name="ck_outcomes_counts_nonnegative"),
    )
    op.create_table(
        "costs",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("campaign_id", sa.Integer, nullable=False),
        sa.Column("amount", sa.Double, nullable=False),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_costs"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE",
                                name="fk_costs_campaign_id_campaigns"),
        sa.CheckConstraint("amount >= 0", name="ck_costs_amount_nonnegative"),
    )
    op.create_index("ix_costs_campaign_id", "costs", ["campaign_id"])
    op.create_table(
        "api_users",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("key_prefix", sa.String(12), nullable=False),
        sa.Column("key_hash", sa.String(255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_users"),
        sa.UniqueConstraint("name", name="uq_api_users_name"),
        sa.CheckConstraint("role IN ('viewer', 'editor')", name="ck_api_users_role_valid"),
    )
    op.create_index("ix_api_users_key_prefix", "api_users", ["key_prefix"])
    op.create_table(
        "erasure_log",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("customer_key", sa.String(64), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("details", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_erasure_log"),
    )
    op.create_index("ix_erasure_log_customer_key", "erasure_log", ["customer_key"])


def downgrade() -> None:
    op.drop_index("ix_erasure_log_customer_key", table_name="erasure_log")
    op.drop_table("erasure_log")
    op.drop_index("ix_api_users_key_prefix", table_name="api_users")
    op.drop_table("api_users")
    op.drop_index("ix_costs_campaign_id", table_name="costs")
    op.drop_table("costs")
    op.drop_table("outcomes")
    op.drop_table("assignments")
    op.drop_index("ix_audience_versions_campaign_id", table_name="audience_versions")
    op.drop_table("audience_versions")
    op.drop_table("campaigns")
