from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("verify/", views.VerifyView.as_view(), name="verify"),
    path("verify/resend/", views.VerifyResendView.as_view(), name="verify-resend"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password-reset/confirm/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("password/change/", views.PasswordChangeView.as_view(), name="password-change"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("email/verify/", views.EmailVerifyView.as_view(), name="email-verify"),
    path("email/undo/", views.EmailUndoView.as_view(), name="email-undo"),
]
