from __future__ import annotations

from django.contrib import admin

from clusters.models import Cluster, GitOpsObject, KindState, PollRun


class KindStateInline(admin.TabularInline):
    model = KindState
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in KindState._meta.fields]


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "server", "poll_interval", "last_success_at", "last_error"]
    readonly_fields = [
        "server",
        "last_poll_started_at",
        "last_poll_finished_at",
        "last_success_at",
        "last_error",
        "last_error_reason",
        "config_error",
    ]
    inlines = [KindStateInline]


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
