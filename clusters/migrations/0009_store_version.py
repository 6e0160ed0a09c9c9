from django.db import migrations, models


def create_row(apps, schema_editor):
    apps.get_model("clusters", "StoreVersion").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("clusters", "0008_watch_mode")]

    operations = [
        migrations.CreateModel(
            name="StoreVersion",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("value", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(create_row, migrations.RunPython.noop),
    ]
