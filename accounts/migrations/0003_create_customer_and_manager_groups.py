"""Create the `Customers` and `Store managers` groups with their permissions.

Permissions rows normally appear in the post_migrate signal, i.e. after *all* migrations,
so on a fresh database they do not exist yet here: create them for the apps we need first.
This migration depends on products and orders only to see their models' state; the accounts
code itself never imports those apps.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CUSTOMERS = "Customers"
STORE_MANAGERS = "Store managers"

# app label -> model name -> actions. Stock movements are a ledger and order lines are
# copies taken at purchase: managers read them but do not rewrite history. Orders are
# changed (status) but never deleted. Users are deliberately absent.
STORE_MANAGER_PERMISSIONS = {
    "products": {
        "category": ["add", "change", "view", "delete"],
        "product": ["add", "change", "view", "delete"],
        "productimage": ["add", "change", "view", "delete"],
        "stockmovement": ["add", "view"],
    },
    "orders": {
        "order": ["change", "view"],
        "orderitem": ["view"],
        "orderstatuschange": ["view"],
    },
}


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db_alias = schema_editor.connection.alias

    for app_label in STORE_MANAGER_PERMISSIONS:
        app_config = apps.get_app_config(app_label)
        # The historical app config has no models_module; create_permissions skips such apps.
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, using=db_alias, apps=apps)
        app_config.models_module = None

    Group.objects.using(db_alias).get_or_create(name=CUSTOMERS)
    managers, _ = Group.objects.using(db_alias).get_or_create(name=STORE_MANAGERS)
    codenames = [
        (app_label, f"{action}_{model}")
        for app_label, models in STORE_MANAGER_PERMISSIONS.items()
        for model, actions in models.items()
        for action in actions
    ]
    permissions = [
        permission
        for app_label, codename in codenames
        for permission in Permission.objects.using(db_alias).filter(
            content_type__app_label=app_label, codename=codename
        )
    ]
    managers.permissions.set(permissions)


def delete_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(
        name__in=[CUSTOMERS, STORE_MANAGERS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_session_epoch"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("products", "0001_initial"),
        ("orders", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]
