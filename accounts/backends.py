from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


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
        username = username.strip()
        lookup = "email__iexact" if "@" in username else "username__iexact"
        try:
            user = user_model._default_manager.get(**{lookup: username})
        except (user_model.DoesNotExist, user_model.MultipleObjectsReturned):
            # Run the hasher once anyway, so timing does not reveal which names exist.
            user_model().set_password(password)
            return None
        if user.check_password(password):
            return user
        return None
