from http import HTTPStatus
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, UpdateView

from myecommerce.proxies import client_ip
from myecommerce.redirects import safe_url

from . import selectors, services
from .forms import (
    BLOCKED_MESSAGE,
    CodeForm,
    EmailUndoForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetConfirmForm,
    PasswordResetForm,
    ProfileForm,
    SignupForm,
)
from .models import User

# Every sign-in goes through django.contrib.auth.login with this backend, so the
# user_logged_in signal (cart merge, axes bookkeeping) always fires.
AUTH_BACKEND = "accounts.backends.UsernameOrEmailBackend"

# Server-side session keys for the steps that happen before a user is signed in.
PENDING_USER_KEY = "accounts_pending_user_id"
PENDING_NEXT_KEY = "accounts_pending_next"
# The address typed at sign-up: the code page's only subject when it was already taken.
PENDING_EMAIL_KEY = "accounts_pending_email"
RESET_USER_KEY = "accounts_reset_user_id"
RESET_EMAIL_KEY = "accounts_reset_email"


def _pending_user(request) -> User | None:
    """The user who signed up or signed in but has not confirmed their e-mail address."""
    return selectors.user_awaiting_verification(pk=request.session.get(PENDING_USER_KEY))


def _signup_decoy_email(request) -> str:
    """The address of a sign-up that found it taken (no account was made), else ""."""
    if request.session.get(PENDING_USER_KEY, 0) is not None:
        return ""
    email = request.session.get(PENDING_EMAIL_KEY)
    return email if isinstance(email, str) else ""


@method_decorator(sensitive_post_parameters("password1", "password2"), name="dispatch")
class SignupView(FormView):
    form_class = SignupForm
    template_name = "accounts/signup.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect("/")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            user = services.user_signup(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                client_ip=client_ip(self.request),
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        # No user when the address was taken (its owner has been told): the same answer.
        self.request.session[PENDING_USER_KEY] = user.pk if user else None
        self.request.session[PENDING_EMAIL_KEY] = form.cleaned_data["email"]
        self.request.session[PENDING_NEXT_KEY] = safe_url(
            self.request, self.request.GET.get("next")
        )
        messages.success(
            self.request,
            _("Welcome! We have e-mailed a 6-digit code to %(email)s. Enter it below.")
            % {"email": form.cleaned_data["email"]},
        )
        return redirect("accounts:verify")


@method_decorator(sensitive_post_parameters("code"), name="dispatch")
class VerifyView(FormView):
    """Confirm the e-mail address of a new (or not yet verified) account, then sign in."""

    form_class = CodeForm
    template_name = "accounts/verify.html"

    def dispatch(self, request, *args, **kwargs):
        self.pending_user = _pending_user(request)
        # After a sign-up with a taken address: no user, the page is the same (a decoy).
        self.decoy_email = _signup_decoy_email(request) if self.pending_user is None else ""
        if self.pending_user is None and not self.decoy_email:
            if request.user.is_authenticated:
                return redirect("/")
            messages.info(request, _("Sign in to receive a confirmation code."))
            return redirect("accounts:login")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        email = self.pending_user.email if self.pending_user else self.decoy_email
        return super().get_context_data(email=email, **kwargs)

    def form_valid(self, form):
        try:
            user = services.user_verify_email(
                user=self.pending_user, email=self.decoy_email, code=form.cleaned_data["code"]
            )
        except ValidationError as error:
            form.add_error("code", error)
            return self.form_invalid(form)
        next_url = safe_url(self.request, self.request.session.pop(PENDING_NEXT_KEY, ""))
        self.request.session.pop(PENDING_USER_KEY, None)
        self.request.session.pop(PENDING_EMAIL_KEY, None)
        auth_login(self.request, user, backend=AUTH_BACKEND)
        messages.success(self.request, _("Your e-mail address is confirmed. Welcome!"))
        return HttpResponseRedirect(next_url or "/")


class VerifyResendView(View):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        user = _pending_user(request)
        decoy_email = _signup_decoy_email(request) if user is None else ""
        if user is None and not decoy_email:
            messages.info(request, _("Sign in to receive a confirmation code."))
            return redirect("accounts:login")
        try:
            services.user_verification_resend(
                user=user, email=decoy_email, client_ip=client_ip(request)
            )
        except ValidationError as error:
            messages.error(request, error.messages[0])
        else:
            email = user.email if user else decoy_email
            text = _("A new code is on its way to %(email)s.")
            messages.success(request, text % {"email": email})
        return redirect("accounts:verify")


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        # A blocked user's session ended: say why on the page it sent them to (once they
        # try to sign in, the form's own error says it).
        if not form.is_bound and selectors.session_user_blocked(session=self.request.session):
            context["blocked_notice"] = BLOCKED_MESSAGE % {"email": settings.STORE_CONTACT_EMAIL}
        return context

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.method == "GET":
            next_url = self.get_redirect_url()
            if next_url == request.path:
                next_url = ""
            return HttpResponseRedirect(next_url or "/")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        user = form.get_user()
        if not user.email_verified:
            sent = services.user_verification_send(user=user, client_ip=client_ip(self.request))
            self.request.session[PENDING_USER_KEY] = user.pk
            self.request.session[PENDING_NEXT_KEY] = self.get_redirect_url()
            if sent:
                text = _(
                    "Please confirm your e-mail address first: we sent a new code to %(email)s."
                )
            else:
                text = _(
                    "Please confirm your e-mail address first: enter the code we sent to "
                    "%(email)s a moment ago."
                )
            messages.info(self.request, text % {"email": user.email})
            return redirect("accounts:verify")
        auth_login(self.request, user, backend=AUTH_BACKEND)
        return HttpResponseRedirect(self.get_success_url())


class LogoutView(auth_views.LogoutView):
    """POST only (Django's LogoutView answers a GET with 405)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("You have been signed out."))
        return response


class PasswordResetView(FormView):
    form_class = PasswordResetForm
    template_name = "accounts/password_reset.html"

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        user = services.password_reset_request(email=email, client_ip=client_ip(self.request))
        # Stored server-side; the page says the same thing whether or not the account exists.
        self.request.session[RESET_USER_KEY] = user.pk if user else None
        self.request.session[RESET_EMAIL_KEY] = email
        messages.info(
            self.request,
            _(
                "If an account uses %(email)s, we have e-mailed it a 6-digit code. "
                "It is valid for 10 minutes."
            )
            % {"email": email},
        )
        return redirect("accounts:password-reset-confirm")


@method_decorator(
    sensitive_post_parameters("code", "new_password1", "new_password2"), name="dispatch"
)
class PasswordResetConfirmView(FormView):
    form_class = PasswordResetConfirmForm
    template_name = "accounts/password_reset_confirm.html"

    def dispatch(self, request, *args, **kwargs):
        if RESET_EMAIL_KEY not in request.session:
            messages.info(request, _("Enter your e-mail address to receive a reset code."))
            return redirect("accounts:password-reset")
        pk = request.session.get(RESET_USER_KEY)
        # One query either way (pk None for an unknown address): the same work.
        self.reset_user = User.objects.filter(
            pk=pk if isinstance(pk, int) else None, is_active=True
        ).first()
        # Read now: once the password changes, this session no longer authenticates.
        self.signed_in_pk = request.user.pk
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        # The new password is compared with the address typed, never with the account's
        # other details: a "too similar to your name" would say that an account exists.
        email = self.request.session[RESET_EMAIL_KEY]
        return {**super().get_form_kwargs(), "user": User(email=email)}

    def get_context_data(self, **kwargs):
        return super().get_context_data(email=self.request.session[RESET_EMAIL_KEY], **kwargs)

    def form_valid(self, form):
        try:
            user = services.password_reset_confirm(
                user=self.reset_user,
                email=self.request.session[RESET_EMAIL_KEY],
                code=form.cleaned_data["code"],
                password=form.cleaned_data["new_password1"],
            )
        except ValidationError as error:
            form.add_error("code", error)
            return self.form_invalid(form)
        self.request.session.pop(RESET_USER_KEY, None)
        self.request.session.pop(RESET_EMAIL_KEY, None)
        if self.signed_in_pk == user.pk:
            # Every *other* session has ended; keep this one.
            update_session_auth_hash(self.request, user)
            messages.success(self.request, _("Your password has been changed."))
            return redirect("accounts:profile")
        messages.success(
            self.request, _("Your password has been changed. Sign in with the new one.")
        )
        return redirect("accounts:login")


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = PasswordChangeForm
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def get_form_kwargs(self):
        # The current password is checked as a sign-in is (lock-out counted).
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        user = services.user_password_set(
            user=form.user, password=form.cleaned_data["new_password1"]
        )
        # Other sessions end (the auth hash changed); this one carries on.
        update_session_auth_hash(self.request, user)
        messages.success(
            self.request,
            _("Your password has been changed. Other devices have been signed out."),
        )
        return HttpResponseRedirect(self.get_success_url())


class ProfileView(LoginRequiredMixin, UpdateView):
    form_class = ProfileForm
    template_name = "accounts/profile.html"
    success_url = reverse_lazy("accounts:profile")

    def get_object(self, queryset=None):
        # A fresh copy, so an invalid form never changes request.user (e.g. the navbar).
        return User.objects.get(pk=self.request.user.pk)

    def get_form_kwargs(self):
        # The current password is checked as a sign-in is (lock-out counted).
        return {**super().get_form_kwargs(), "request": self.request}

    def get_context_data(self, **kwargs):
        pending = selectors.email_change_pending(user=self.request.user)
        return super().get_context_data(pending_email_change=pending, **kwargs)

    def form_valid(self, form):
        try:
            user = services.user_profile_update(
                user=self.object,
                data=form.cleaned_data,
                avatar=form.cleaned_data.get("avatar"),
                avatar_clear=form.cleaned_data.get("avatar_clear", False),
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        if not form.email_changed:
            messages.success(self.request, _("Your profile has been saved."))
            return redirect(self.get_success_url())
        new_email = form.cleaned_data["email"]
        try:
            services.email_change_request(
                user=user, new_email=new_email, client_ip=client_ip(self.request)
            )
        except ValidationError as error:
            messages.warning(self.request, error.messages[0])
            return redirect(self.get_success_url())
        messages.info(
            self.request,
            _(
                "Your profile has been saved. We have sent a code to %(email)s: enter it "
                "below to switch to that address."
            )
            % {"email": new_email},
        )
        return redirect("accounts:email-verify")


@method_decorator(sensitive_post_parameters("code"), name="dispatch")
class EmailVerifyView(LoginRequiredMixin, FormView):
    form_class = CodeForm
    template_name = "accounts/email_verify.html"

    def get_context_data(self, **kwargs):
        pending = selectors.email_change_pending(user=self.request.user)
        return super().get_context_data(pending=pending, **kwargs)

    def form_valid(self, form):
        try:
            user = services.email_change_confirm(
                user=self.request.user,
                code=form.cleaned_data["code"],
                undo_url=self._undo_url,
            )
        except ValidationError as error:
            form.add_error("code", error)
            return self.form_invalid(form)
        # Every other session has ended; this one carries on.
        update_session_auth_hash(self.request, user)
        messages.success(
            self.request,
            _(
                "Your e-mail address is now %(email)s. Other devices have been signed out, and "
                "we have told your previous address."
            )
            % {"email": user.email},
        )
        return redirect(reverse("accounts:profile"))

    def _undo_url(self, token: str) -> str:
        path = f"{reverse('accounts:email-undo')}?{urlencode({'token': token})}"
        return self.request.build_absolute_uri(path)


class EmailUndoView(FormView):
    """The link sent to the old address after an e-mail change: GET shows what it will do,
    the POST (with its CSRF token) puts the old address back and ends every session."""

    form_class = EmailUndoForm
    template_name = "accounts/email_undo.html"

    def get_initial(self):
        return {"token": self.request.GET.get("token", "")}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        token = self.request.POST.get("token") or self.request.GET.get("token", "")
        try:
            user, old_email, _changed_at = services.email_change_undo_check(token=token)
            context.update(undo_user=user, old_email=old_email)
        except ValidationError as error:
            context["link_error"] = error.messages[0]
        return context

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if "link_error" in response.context_data:
            response.status_code = HTTPStatus.BAD_REQUEST
        return response

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = HTTPStatus.BAD_REQUEST
        return response

    def form_valid(self, form):
        try:
            user = services.email_change_undo(
                token=form.cleaned_data["token"], client_ip=client_ip(self.request)
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        # Signed out everywhere, this browser included; a code is on its way to set a password.
        auth_logout(self.request)
        self.request.session[RESET_USER_KEY] = user.pk
        self.request.session[RESET_EMAIL_KEY] = user.email
        messages.success(
            self.request,
            _(
                "%(email)s is your address again and everybody has been signed out. We have "
                "e-mailed it a code: choose a new password to sign in again."
            )
            % {"email": user.email},
        )
        return redirect("accounts:password-reset-confirm")
