"""reading_example: cadres' confirmations and corrections of the bot's readings (issue 13)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 19:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reading_example',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('reading', sa.JSON(), nullable=False),
    sa.Column('final', sa.JSON(), nullable=False),
    sa.Column('choice', sa.String(length=16), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=True),
    sa.Column('township', sa.String(length=64), nullable=True),
    sa.Column('village', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_reading_example_user_id_app_user')),
    sa.ForeignKeyConstraint(['issue_id'], ['issue.id'], name=op.f('fk_reading_example_issue_id_issue')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reading_example'))
    )
    with op.batch_alter_table('reading_example', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reading_example_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reading_example_issue_id'), ['issue_id'], unique=False)


def downgrade() -> None:
    op.drop_table('reading_example')
