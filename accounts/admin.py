from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from . import services
from .models import User


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ["username", "email"]

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class UserChangeForm(DjangoUserChangeForm):
    class Meta(DjangoUserChangeForm.Meta):
        model = User
        fields = "__all__"

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class BlockedFilter(admin.SimpleListFilter):
    """is_active, named for what it means in the shop: a blocked user cannot sign in."""

    title = _("status")
    parameter_name = "blocked"

    def lookups(self, request, model_admin):
        return [("no", _("Active")), ("yes", _("Blocked"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(is_active=True)
        if self.value() == "yes":
            return queryset.filter(is_active=False)
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    # Short headers and a date without the time: the list fits 1280 px with both sidebars.
    list_display = [
        "username",
        "email",
        "verified",
        "status",
        "staff",
        "joined",
        "order_count",
    ]
    list_filter = [BlockedFilter, "email_verified", "is_staff", "is_superuser", "groups"]
    search_fields = ["username", "email", "phone", "first_name", "last_name"]
    ordering = ["username", "pk"]
    readonly_fields = ["is_active", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (
            _("Personal info"),
            {"fields": ["first_name", "last_name", "email", "email_verified", "phone", "avatar"]},
        ),
        (
            _("Default shipping address"),
            {"fields": ["address_line1", "address_line2", "city", "postal_code", "country"]},
        ),
        (
            _("Permissions"),
            {
                "fields": [
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ]
            },
        ),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["username", "email", "usable_password", "password1", "password2"],
            },
        ),
    ]
    actions = ["block_users", "unblock_users"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # Blocking ends the user's sessions and has rules (accounts.services.user_block),
        # so `is_active` changes only through the Block/Unblock actions.
        fields = list(self.readonly_fields)
        if not request.user.is_superuser:
            # Staff who manage users must not be able to hand out superuser powers.
            fields += ["is_superuser", "user_permissions"]
        return fields

    def has_change_permission(self, request, obj=None):
        # Only a superuser edits a superuser (and so sets their password), as with blocking.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def get_queryset(self, request):
        # Annotated through the reverse relation: accounts does not import orders.
        return super().get_queryset(request).annotate(order_count=Count("orders"))

    @admin.display(description=_("verified"), boolean=True, ordering="email_verified")
    def verified(self, obj: User) -> bool:
        return obj.email_verified

    @admin.display(description=_("staff"), boolean=True, ordering="is_staff")
    def staff(self, obj: User) -> bool:
        return obj.is_staff

    @admin.display(description=_("joined"), ordering="date_joined")
    def joined(self, obj: User) -> str:
        return date_format(timezone.localtime(obj.date_joined), "SHORT_DATE_FORMAT")

    @admin.display(description=_("status"), ordering="is_active")
    def status(self, obj: User) -> str:
        if obj.is_active:
            return gettext("Active")
        return format_html('<strong class="mark-bad">{}</strong>', gettext("Blocked"))

    @admin.display(description=_("orders"), ordering="order_count")
    def order_count(self, obj: User) -> str:
        if not obj.order_count:
            return "0"
        url = reverse("admin:orders_order_changelist")
        return format_html('<a href="{}?user__id__exact={}">{}</a>', url, obj.pk, obj.order_count)

    @admin.action(description=_("Block selected users"), permissions=["change"])
    def block_users(self, request, queryset):
        self._apply(request, queryset, services.user_block, done=_blocked_message)

    @admin.action(description=_("Unblock selected users"), permissions=["change"])
    def unblock_users(self, request, queryset):
        self._apply(request, queryset, services.user_unblock, done=_unblocked_message)

    def _apply(self, request, queryset, service, *, done) -> None:
        count = 0
        for user in queryset.order_by("pk"):
            try:
                service(user=user, by=request.user)
            except ValidationError as exc:
                self.message_user(
                    request, f"{user.username}: {' '.join(exc.messages)}", messages.ERROR
                )
            else:
                count += 1
        if count:
            self.message_user(request, done(count), messages.SUCCESS)


def _blocked_message(count: int) -> str:
    return ngettext(
        "Blocked %(count)d user; their sessions have ended.",
        "Blocked %(count)d users; their sessions have ended.",
        count,
    ) % {"count": count}


def _unblocked_message(count: int) -> str:
    return ngettext("Unblocked %(count)d user.", "Unblocked %(count)d users.", count) % {
        "count": count
    }
