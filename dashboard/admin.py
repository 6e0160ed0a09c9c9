from __future__ import annotations

from django.contrib import admin

from dashboard.models import ActionAttempt, ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made with `manage.py create_api_token NAME` (the token is printed once);
    here they can be reviewed and revoked (deleted)."""

    list_display = ["name", "scope", "token_prefix", "created_at", "last_used_at"]
    readonly_fields = ["name", "scope", "token_prefix", "created_at", "last_used_at"]
    search_fields = ["name"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(ActionAttempt)
class ActionAttemptAdmin(admin.ModelAdmin):
    """The audit trail: read-only, so what happened stays as it was recorded."""

    list_display = ["created_at", "user", "action", "kind", "namespace", "name", "outcome"]
    list_filter = ["outcome", "action", "mode", "cluster"]
    search_fields = ["user", "name", "namespace"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
