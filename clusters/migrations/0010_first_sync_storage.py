"""The first sync's database side (issue 11).

- Drop the ManagedResource index no reader uses.
- No database constraint on the ``cluster`` of ManagedResource, ObjectTarget and Dependency rows:
  their ``obj`` is constrained and of the same cluster. PostgreSQL checked each such constraint
  once per row at commit (Django makes them deferred): 186,000 checks on a first sync of 20,000.
- On PostgreSQL 14+, compress the large JSON columns with lz4 instead of pglz: a first sync of
  20,000 objects TOASTs most of their ``raw`` copies, and pglz was a large share of the COPY.
  Only values written from now on are affected; a server built without lz4 keeps pglz.
"""

import django.db.models.deletion
from django.db import DatabaseError, migrations, models, transaction

# (table, column): the JSON and text columns whose values are commonly over the 2 KB at which
# PostgreSQL compresses.
COMPRESSED = (
    ("clusters_gitopsobject", "raw"),
    ("clusters_gitopsobject", "details"),
    ("clusters_gitopsobject", "conditions"),
    ("clusters_gitopsobject", "message"),
    ("clusters_ownershipreport", "namespaces"),
    ("clusters_ownershipreport", "resources"),
    ("clusters_ownershipreport", "chains"),
)


def _set_compression(method: str):
    def run(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql" or connection.pg_version < 140000:
            return
        quote = schema_editor.quote_name
        for table, column in COMPRESSED:
            try:
                with transaction.atomic(using=connection.alias):
                    schema_editor.execute(
                        f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} "
                        f"SET COMPRESSION {method}"
                    )
            except DatabaseError:  # lz4 not compiled into this server: pglz stays
                return

    return run


class Migration(migrations.Migration):
    dependencies = [("clusters", "0009_store_version")]

    operations = [
        migrations.RemoveIndex(model_name="managedresource", name="clusters_ma_cluster_764772_idx"),
        *(
            migrations.AlterField(
                model_name=model,
                name="cluster",
                field=models.ForeignKey(
                    db_constraint=False,
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="+",
                    to="clusters.cluster",
                ),
            )
            for model in ("dependency", "managedresource", "objecttarget")
        ),
        migrations.RunPython(_set_compression("lz4"), _set_compression("default")),
    ]
