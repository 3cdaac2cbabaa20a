from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import QuerySet

from myecommerce.prepared import PreparedQuery


def users_by_sign_in_name(name: str) -> QuerySet:
    """The users a sign-in name names: an e-mail address if it has an @, else a username,
    case-insensitive either way. The one rule for signing in and for counting failed
    sign-ins per account (accounts.lockout)."""
    lookup = "email__iexact" if "@" in name else "username__iexact"
    return get_user_model()._default_manager.filter(**{lookup: name})


class UsernameOrEmailBackend(ModelBackend):
    """Signs a user in by username or by e-mail address (case-insensitive).

    A blocked user (``is_active=False``) with the right password is returned, as Django's
    ``AllowAllUsersModelBackend`` does, so the login form can say the account is blocked
    instead of "wrong password". Sessions still refuse blocked users: ``get_user`` keeps
    ModelBackend's ``is_active`` check.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if not isinstance(username, str) or not username.strip() or password is None:
            return None
        user_model = get_user_model()
        try:
            user = users_by_sign_in_name(username.strip()).get()
        except (user_model.DoesNotExist, user_model.MultipleObjectsReturned):
            # Run the hasher once anyway, so timing does not reveal which names exist.
            user_model().set_password(password)
            return None
        if user.check_password(password):
            return user
        return None

    def get_user(self, user_id):
        """The session's user: the one query ModelBackend runs, on every signed-in request, so
        its SQL is written once (myecommerce.prepared)."""
        try:
            user = _SESSION_USER.first(int(user_id))
        except (TypeError, ValueError):
            return None
        return user if user is not None and self.user_can_authenticate(user) else None


_SESSION_USER = PreparedQuery(lambda user_id: get_user_model()._default_manager.filter(pk=user_id))
