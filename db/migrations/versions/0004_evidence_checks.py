"""evidence: who sent it, content hashes, EXIF capture time and reuse (issue 17)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 21:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('evidence') as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('phash', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('taken_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('reused_of', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_evidence_user_id_app_user'), 'app_user', ['user_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_evidence_reused_of_evidence'), 'evidence', ['reused_of'], ['id'])
        batch_op.create_index(batch_op.f('ix_evidence_sha256'), ['sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('evidence') as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_sha256'))
        batch_op.drop_constraint(batch_op.f('fk_evidence_reused_of_evidence'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_evidence_user_id_app_user'), type_='foreignkey')
        for column in ('reused_of', 'taken_at', 'phash', 'sha256', 'user_id'):
            batch_op.drop_column(column)
