"""The first sync's database side (issue 11): drop the ManagedResource index no reader uses."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("clusters", "0009_store_version")]

    operations = [
        migrations.RemoveIndex(model_name="managedresource", name="clusters_ma_cluster_764772_idx"),
    ]
