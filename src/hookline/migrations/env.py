"""Alembic environment: the URL comes from Hookline's settings, the metadata from its models."""

from alembic import context
from sqlalchemy import create_engine, pool

from hookline.config import get_settings
from hookline.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().sqlalchemy_url


def run_migrations_online() -> None:
    # Prepared statements off when the settings say so: a migration may run through PgBouncer too.
    engine = create_engine(url, poolclass=pool.NullPool, connect_args=get_settings().psycopg_kwargs())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
