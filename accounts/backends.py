from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class UsernameOrEmailBackend(ModelBackend):
    """Signs a user in by username or by e-mail address (case-insensitive)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if not username or password is None:
            return None
        user_model = get_user_model()
        lookup = "email__iexact" if "@" in username else "username__iexact"
        try:
            user = user_model._default_manager.get(**{lookup: username.strip()})
        except (user_model.DoesNotExist, user_model.MultipleObjectsReturned):
            # Run the hasher once anyway, so timing does not reveal which names exist.
            user_model().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
