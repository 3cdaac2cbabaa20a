"""Issue 16.2: remember the last undone e-mail change, so older undo links die with it."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_code_send_limits_and_username_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_undone_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="user",
            name="email_undone_change_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
