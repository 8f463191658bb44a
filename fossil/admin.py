from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Inspection only: rows change through services, never by hand in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
