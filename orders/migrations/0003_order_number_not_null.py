"""Order.number is no longer nullable: it is made before the insert (Order.save).

Existing numbers are kept; an order left without one (none should be) gets ME-<id>, as it
would have been given.
"""

from django.db import migrations, models


def number_the_unnumbered(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    for order in Order.objects.filter(number__isnull=True).only("pk"):
        Order.objects.filter(pk=order.pk).update(number=f"ME-{order.pk:06d}")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0002_order_shipping_phone_e164"),
    ]

    operations = [
        migrations.RunPython(number_the_unnumbered, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="order",
            name="number",
            field=models.CharField(
                editable=False, max_length=20, unique=True, verbose_name="number"
            ),
        ),
    ]
