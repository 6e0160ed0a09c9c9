from __future__ import annotations

from django.contrib import admin

from dashboard.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made with `manage.py create_api_token NAME` (the token is printed once);
    here they can be reviewed and revoked (deleted)."""

    list_display = ["name", "token_prefix", "created_at", "last_used_at"]
    readonly_fields = ["name", "token_prefix", "created_at", "last_used_at"]
    search_fields = ["name"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
