"""subscription.chat_title: the group's name, so /subscriptions can say which group

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 20:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subscription') as batch_op:
        batch_op.add_column(sa.Column('chat_title', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subscription') as batch_op:
        batch_op.drop_column('chat_title')
