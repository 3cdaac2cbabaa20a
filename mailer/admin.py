from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import Message
from .services import message_send


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Read-only: staff see what is waiting or failed and can send it now. The text is not
    shown (a pending one-time code is the customer's, not staff's)."""

    list_display = ["subject", "recipients", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["subject", "to"]
    date_hierarchy = "created_at"
    fields = [
        "recipients",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
        "expires_at",
    ]
    readonly_fields = fields
    actions = ["send_now"]

    @admin.display(description=_("recipients"))
    def recipients(self, obj: Message) -> str:
        return ", ".join(obj.to) or "-"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Send the selected e-mails now"))
    def send_now(self, request, queryset):
        outcomes = [
            message_send(message_id=pk, force=True) for pk in queryset.values_list("pk", flat=True)
        ]
        sent = outcomes.count("sent")
        self.message_user(
            request,
            ngettext("%(count)d e-mail sent.", "%(count)d e-mails sent.", sent) % {"count": sent},
            messages.SUCCESS if sent == len(outcomes) else messages.WARNING,
        )
        if sent != len(outcomes):
            self.message_user(
                request,
                _("%(count)d not sent (already sent, refused, or the mail server is away).")
                % {"count": len(outcomes) - sent},
                messages.WARNING,
            )
