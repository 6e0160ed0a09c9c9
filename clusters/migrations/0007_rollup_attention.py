from django.db import migrations, models

# Severity of each violation code (clusters/ownership/violations.py CODES), frozen here so the
# migration does not import application code.
_CRITICAL = {"TW002"}
_RED = {"TW001", "TW003", "TW004", "TW005"}
_STATUS = {
    "Degraded": (1, "bad"),
    "Missing": (1, "bad"),
    "Unknown": (2, "warn"),
    "Progressing": (3, "progress"),
    "Suspended": (4, "muted"),
}


def fill_attention(apps, schema_editor):
    """Existing rows get their rank and tone now; the violation's own sentence joins their
    headline at the next roll-up rebuild."""
    rollups = apps.get_model("clusters", "NamespaceRollup")
    changed = []
    for row in rollups.objects.all().iterator():
        rank, tone = (5, "")
        if row.headline:
            rank, tone = _STATUS.get(row.status, (2, "warn"))
        codes = set(row.violation_codes or [])
        if codes & _CRITICAL:
            rank, tone = 0, "bad"
        elif codes & _RED and rank > 1:
            rank, tone = 1, "bad"
        elif codes and rank > 2:
            rank, tone = 2, "warn"
        if codes and not row.headline:
            # Never an empty sentence in the banner; the full one comes with the next rebuild.
            row.headline = f"Ownership violations: {', '.join(sorted(codes))}"
        row.attention_rank, row.attention = rank, tone
        changed.append(row)
    rollups.objects.bulk_update(
        changed, ["attention_rank", "attention", "headline"], batch_size=500
    )


class Migration(migrations.Migration):
    dependencies = [
        ("clusters", "0006_crash_mark_skipped"),
    ]

    operations = [
        migrations.AddField(
            model_name="namespacerollup",
            name="attention_rank",
            field=models.PositiveSmallIntegerField(default=5),
        ),
        migrations.AddField(
            model_name="namespacerollup",
            name="attention",
            field=models.CharField(blank=True, max_length=10),
        ),
        migrations.RunPython(fill_attention, migrations.RunPython.noop),
    ]
