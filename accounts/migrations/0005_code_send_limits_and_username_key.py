"""Issue 16.10 and 16.11: where each code went and who asked (per-address and per-IP send
limits), and the unique look-alike key of each username."""

import unicodedata

from django.db import migrations, models


def username_key(username: str) -> str:
    """accounts.models.username_key as it was when this migration was written."""
    decomposed = unicodedata.normalize("NFKD", username.strip())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return unicodedata.normalize("NFKC", bare.casefold().replace("ı", "i"))


def fill_username_keys(apps, schema_editor):
    """Give every account its key; an account whose key an older one already has keeps a
    "#<id>" suffix (unique, never a real key: "#" is not allowed in usernames) until renamed."""
    User = apps.get_model("accounts", "User")
    seen = set()
    for user in User.objects.order_by("pk").only("pk", "username").iterator():
        key = username_key(user.username)
        if key in seen:
            key = f"{key}#{user.pk}"
        seen.add(key)
        User.objects.filter(pk=user.pk).update(username_key=key)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_user_phone_e164"),
    ]

    operations = [
        migrations.AddField(
            model_name="onetimecode",
            name="client_ip",
            field=models.GenericIPAddressField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="onetimecode",
            name="sent_to",
            field=models.EmailField(blank=True, max_length=254),
        ),
        migrations.AddField(
            model_name="user",
            name="username_key",
            field=models.CharField(default="", editable=False, max_length=150),
        ),
        migrations.AddIndex(
            model_name="onetimecode",
            index=models.Index(fields=["sent_to", "-created_at"], name="accounts_otc_sent_to_idx"),
        ),
        migrations.AddIndex(
            model_name="onetimecode",
            index=models.Index(
                fields=["client_ip", "-created_at"], name="accounts_otc_client_ip_idx"
            ),
        ),
        migrations.RunPython(fill_username_keys, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                fields=("username_key",), name="accounts_user_username_key_unique"
            ),
        ),
    ]
