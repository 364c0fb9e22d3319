"""plugins and consumers: configured plugin instances, consumers and the hashes of their API keys

Revision ID: 0006_plugins
Revises: 0005_login_links
Create Date: 2026-12-05

plugins: one configured plugin (name, config, enabled) global or scoped to a route, a consumer or
both; consumers: who calls with an API key; consumer_keys: the SHA-256 of each key (never the key).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006_plugins'
down_revision = '0005_login_links'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'consumers',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('username', sa.String(length=100), nullable=False),
        sa.Column('custom_id', sa.String(length=255), nullable=True),
        sa.Column('groups', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consumers')),
    )
    with op.batch_alter_table('consumers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consumers_username'), ['username'], unique=True)
    op.create_table(
        'consumer_keys',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('consumer_id', sa.Uuid(), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['consumer_id'], ['consumers.id'], ondelete='CASCADE',
                                name=op.f('fk_consumer_keys_consumer_id_consumers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consumer_keys')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_consumer_keys_key_hash')),
    )
    with op.batch_alter_table('consumer_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consumer_keys_consumer_id'), ['consumer_id'], unique=False)
    op.create_table(
        'plugins',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('config', sa.JSON(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('route_id', sa.Uuid(), nullable=True),
        sa.Column('consumer_id', sa.Uuid(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['consumer_id'], ['consumers.id'], ondelete='CASCADE',
                                name=op.f('fk_plugins_consumer_id_consumers')),
        sa.ForeignKeyConstraint(['route_id'], ['route_configs.id'], ondelete='CASCADE',
                                name=op.f('fk_plugins_route_id_route_configs')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plugins')),
    )
    with op.batch_alter_table('plugins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plugins_consumer_id'), ['consumer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plugins_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_plugins_route_id'), ['route_id'], unique=False)


def downgrade():
    op.drop_table('plugins')
    op.drop_table('consumer_keys')
    op.drop_table('consumers')
