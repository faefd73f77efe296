"""course page details: topic, instructor, outcomes, requirements, FAQ, cover (issue 17)

Columns added to `courses` with op.add_column only (no batch rebuild on SQLite); the JSON
lists start empty and the texts blank through their server defaults, so existing courses
need no backfill.

Revision ID: d17c0a7e1b2f
Revises: 90d242f8be09
Create Date: 2026-11-27 22:10:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = 'd17c0a7e1b2f'
down_revision = '90d242f8be09'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
TEXTS = [('topic', 40), ('instructor_name', 120), ('instructor_bio', 600), ('cover_alt', 200)]
LISTS = ['learning_outcomes', 'requirements', 'faq']


def upgrade():
    for name, length in TEXTS:
        op.add_column('courses', sa.Column(name, sa.String(length=length), server_default='', nullable=False))
    for name in LISTS:
        op.add_column('courses', sa.Column(name, JSON, server_default='[]', nullable=False))
    op.add_column('courses', sa.Column('cover_image', sa.String(length=80), nullable=True))
    op.create_index(op.f('ix_courses_topic'), 'courses', ['topic'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_courses_topic'), table_name='courses')
    # SQLite (3.35+) drops a column without rebuilding the table.
    for name in ['cover_image', *reversed(LISTS), *reversed([name for name, _ in TEXTS])]:
        op.drop_column('courses', name)
