"""Phone numbers follow one rule (django-phonenumber-field): stored numbers become E.164.

A stored number that the phonenumbers library reads as valid (national numbers in
PHONENUMBER_DEFAULT_REGION) is rewritten as E.164, e.g. "(201) 555-0123" -> "+12015550123";
any other value is kept as typed (the profile form asks for a valid one on the next save).
The column stays a varchar(32). Reversing keeps the E.164 values, which the old rule accepted.
"""

import phonenumber_field.modelfields
import phonenumbers
from django.conf import settings
from django.db import migrations


def phones_to_e164(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    region = settings.PHONENUMBER_DEFAULT_REGION
    for pk, phone in User.objects.exclude(phone="").values_list("pk", "phone").iterator():
        try:
            number = phonenumbers.parse(phone, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if e164 != phone:
                User.objects.filter(pk=pk).update(phone=e164)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_create_customer_and_manager_groups"),
    ]

    operations = [
        migrations.RunPython(phones_to_e164, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="user",
            name="phone",
            field=phonenumber_field.modelfields.PhoneNumberField(
                blank=True, max_length=32, region=None, verbose_name="phone"
            ),
        ),
    ]
