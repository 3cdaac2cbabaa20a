"""Order phone numbers follow one rule (django-phonenumber-field): stored numbers become E.164.

A stored number that the phonenumbers library reads as valid (national numbers in
PHONENUMBER_DEFAULT_REGION) is rewritten as E.164, e.g. "(201) 555-0123" -> "+12015550123";
any other value is kept as typed (orders are records: their text is shown as it was).
The column stays a varchar(32). Reversing keeps the E.164 values, which the old rule accepted.
"""

import phonenumber_field.modelfields
import phonenumbers
from django.conf import settings
from django.db import migrations


def phones_to_e164(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    region = settings.PHONENUMBER_DEFAULT_REGION
    for pk, phone in (
        Order.objects.exclude(shipping_phone="").values_list("pk", "shipping_phone").iterator()
    ):
        try:
            number = phonenumbers.parse(phone, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if e164 != phone:
                Order.objects.filter(pk=pk).update(shipping_phone=e164)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(phones_to_e164, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="order",
            name="shipping_phone",
            field=phonenumber_field.modelfields.PhoneNumberField(
                blank=True, max_length=32, region=None
            ),
        ),
    ]
