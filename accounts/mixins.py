"""View mixins for pages that need a signed-in user, as django.contrib.auth.mixins."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.utils.translation import gettext_lazy as _


class SignInRequiredMixin(LoginRequiredMixin):
    """LoginRequiredMixin that says why: a guest sent to sign in finds `sign_in_reason`
    flashed on the sign-in page ("Sign in to check out"), not a bare form."""

    sign_in_reason = _("Sign in to continue.")

    def handle_no_permission(self):
        if not self.request.user.is_authenticated:
            messages.info(self.request, self.sign_in_reason)
        return super().handle_no_permission()
