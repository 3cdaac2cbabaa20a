import pytest
from django.core.management import CommandError, call_command

from accounts.models import User


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_creates_the_admin(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password("123@456")
    assert User.objects.filter(username="admin").count() == 1
    assert User.objects.filter(username="shopper", is_superuser=False).count() == 1


@pytest.mark.django_db
def test_seed_demo_again_keeps_passwords_the_demo_users_changed(settings, client):
    """`make run` seeds every time: a password changed since must survive it."""
    settings.DEBUG = True
    call_command("seed_demo")
    for username in ("admin", "shopper"):
        user = User.objects.get(username=username)
        user.set_password(f"{username}-own-Passw0rd")
        user.save()

    call_command("seed_demo")

    for username, demo_password in (("admin", "123@456"), ("shopper", "shopper-demo-1")):
        user = User.objects.get(username=username)
        assert user.check_password(f"{username}-own-Passw0rd"), username
        assert not user.check_password(demo_password), username
    signed_in = client.post(
        "/admin/login/?next=/admin/", {"username": "admin", "password": "admin-own-Passw0rd"}
    )
    assert signed_in.status_code == 302 and client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_seed_demo_runs_without_debug_when_forced(settings):
    settings.DEBUG = False
    call_command("seed_demo", "--force")
    assert User.objects.filter(username="admin").exists()


@pytest.mark.django_db
def test_admin_can_sign_in_to_the_admin(client, settings):
    settings.DEBUG = True
    call_command("seed_demo")
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "admin", "password": "123@456"}
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_seed_demo_creates_a_nested_catalogue_with_images_once(settings):
    from products.models import Category, Product, ProductImage, StockMovement

    settings.DEBUG = True
    call_command("seed_demo")
    counts = (Category.objects.count(), Product.objects.count(), ProductImage.objects.count())
    movements = StockMovement.objects.count()
    call_command("seed_demo")
    assert (
        Category.objects.count(),
        Product.objects.count(),
        ProductImage.objects.count(),
    ) == counts
    assert StockMovement.objects.count() == movements
    assert counts[0] >= 8 and counts[1] >= 60
    assert Category.objects.filter(parent__parent__isnull=False).exists()  # three levels
    assert Product.objects.filter(stock=0).exists()
    assert Product.objects.filter(stock__gt=0, stock__lte=settings.LOW_STOCK_THRESHOLD).exists()
    assert Product.objects.filter(images__isnull=True).exists()  # shows the placeholder
    image = ProductImage.objects.first()
    assert image.thumbnail_list and image.thumbnail_detail and image.alt_text


@pytest.mark.django_db
def test_demo_descriptions_read_as_correct_english(settings):
    from myecommerce.tests.wording import wording_problems
    from products.models import Product

    settings.DEBUG = True
    call_command("seed_demo")

    descriptions = dict(Product.objects.values_list("name", "description"))
    problems = {name: wording_problems(text) for name, text in descriptions.items()}
    assert {name: found for name, found in problems.items() if found} == {}
    assert descriptions["Classic Blue Headphones"].startswith(
        "A pair of headphones from our Classic line, in blue:"
    )
    assert any("from our" in t and "Bluetooth speaker" in t for t in descriptions.values())
    assert any(text.startswith("An ") for text in descriptions.values())
