from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("clusters", "0011_argocd_detail_controllers")]

    operations = [
        migrations.AddField(
            model_name="cluster",
            name="argocd",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
