from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("clusters", "0007_rollup_attention")]

    operations = [
        migrations.AddField(
            model_name="cluster",
            name="sync_mode",
            field=models.CharField(blank=True, max_length=10),
        ),
        migrations.AddField(
            model_name="cluster",
            name="sync_mode_reason",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="kindstate",
            name="resource_version",
            field=models.CharField(blank=True, max_length=64),
        ),
    ]
