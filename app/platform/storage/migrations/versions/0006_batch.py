"""batch jobs (jobs and their items)

Revision ID: 0006_batch
Revises: 0005_users_updated_at
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_batch"
down_revision = "0005_users_updated_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_jobs",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("processed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("succeeded", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_processed_at_start", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_batch_jobs"),
        sa.UniqueConstraint("owner_id", "idempotency_key", name="uq_batch_jobs_idempotency"),
    )
    op.create_index("ix_batch_jobs_owner_created", "batch_jobs", ["owner_id", "created_at"])
    op.create_index("ix_batch_jobs_status_created", "batch_jobs", ["status", "created_at"])
    op.create_index("ix_batch_jobs_status_finished", "batch_jobs", ["status", "finished_at"])

    op.create_table(
        "batch_items",
        sa.Column("job_id", sa.String(40), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("ref", sa.String(200), nullable=True),
        sa.Column("input", sa.Text, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("job_id", "position", name="pk_batch_items"),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["batch_jobs.id"],
            name="fk_batch_items_job_id_batch_jobs",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_batch_items_job_status_position", "batch_items", ["job_id", "status", "position"]
    )


def downgrade() -> None:
    op.drop_index("ix_batch_items_job_status_position", table_name="batch_items")
    op.drop_table("batch_items")
    op.drop_index("ix_batch_jobs_status_finished", table_name="batch_jobs")
    op.drop_index("ix_batch_jobs_status_created", table_name="batch_jobs")
    op.drop_index("ix_batch_jobs_owner_created", table_name="batch_jobs")
    op.drop_table("batch_jobs")
