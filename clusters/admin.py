from __future__ import annotations

from django import forms
from django.contrib import admin

from clusters.models import Cluster, GitOpsObject, KindState, PollRun
from clusters.ownership import BoundaryError, load_boundaries

FILE_WINS_NOTE = (
    "Set in clusters.yaml (ownership:). The file named there wins: its content replaces the "
    "boundaries below at every sync, so edit the file, not this form."
)


class ClusterAdminForm(forms.ModelForm):
    class Meta:
        model = Cluster
        fields = "__all__"
        help_texts = {
            "boundaries": "Ownership boundaries as YAML (see the README). Empty: the ADR-003 "
            "default. Ignored when clusters.yaml names a boundaries file for this cluster.",
        }

    def clean_boundaries(self) -> str:
        text = self.cleaned_data.get("boundaries") or ""
        if text.strip():
            try:
                load_boundaries(text, source="boundaries")
            except BoundaryError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return text


class KindStateInline(admin.TabularInline):
    model = KindState
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in KindState._meta.fields]


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    form = ClusterAdminForm
    list_display = ["name", "enabled", "server", "poll_interval", "last_success_at", "last_error"]
    readonly_fields = [
        "boundaries_file_note",
        "boundaries_file_error",
        "server",
        "last_poll_started_at",
        "last_poll_finished_at",
        "last_success_at",
        "last_error",
        "last_error_reason",
        "config_error",
    ]
    inlines = [KindStateInline]
    fieldsets = [
        (None, {"fields": ["name", "kubeconfig", "context", "in_cluster", "poll_interval"]}),
        (
            "Ownership boundaries",
            {"fields": ["boundaries_file_note", "boundaries_file_error", "boundaries"]},
        ),
        (
            "Polling",
            {
                "fields": [
                    "enabled",
                    "config_error",
                    "server",
                    "last_poll_started_at",
                    "last_poll_finished_at",
                    "last_success_at",
                    "last_error_reason",
                    "last_error",
                ]
            },
        ),
    ]

    @admin.display(description="Boundaries file")
    def boundaries_file_note(self, obj: Cluster) -> str:
        if not obj.boundaries_file:
            return "none: the boundaries below (or the ADR-003 default) apply"
        return f"{obj.boundaries_file} — {FILE_WINS_NOTE}"


@admin.register(GitOpsObject)
class GitOpsObjectAdmin(admin.ModelAdmin):
    list_display = ["cluster", "tool", "kind", "namespace", "name", "status", "sync"]
    list_filter = ["cluster", "tool", "kind", "status", "sync"]
    search_fields = ["name", "namespace", "message"]

    def has_add_permission(self, request: object) -> bool:
        return False  # written by the poller only

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(PollRun)
class PollRunAdmin(admin.ModelAdmin):
    list_display = ["cluster", "started_at", "finished_at", "ok", "objects_written", "error"]
    list_filter = ["cluster", "ok"]

    def has_add_permission(self, request: object) -> bool:
        return False
