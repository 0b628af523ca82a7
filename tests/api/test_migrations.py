"""The migrations build exactly the schema the models declare (nothing forgotten either way)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mercato.db.models import Base


async def test_models_and_migrations_agree(engine):
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    # Trigram indexes exist only where pg_trgm is available (migration 0002); they are not models.
    differences = [
        d for d in differences if not (d[0] == "remove_index" and d[1].name.endswith("_trgm"))
    ]
    assert differences == []
