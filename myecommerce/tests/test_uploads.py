"""Uploads: the avatar on the profile page and product images in the admin.

Hostile files (a text file or an SVG named `.png`, a decompression bomb, an oversized file)
are refused with a message and leave nothing behind, neither a row nor a file; accepted files
are stored under names we chose, never the uploader's.
"""

import io
import re
import struct
import zlib
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts.models import User
from accounts.tests.factories import UserFactory
from products.models import ProductImage
from products.tests.factories import ProductFactory, change_form_data, png_bytes

pytestmark = pytest.mark.django_db

PROFILE_URL = reverse("accounts:profile")
SAFE_NAME = re.compile(r"^[A-Za-z0-9_./-]+$")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def declared_png(width: int, height: int) -> bytes:
    """A well-formed PNG of ~70 bytes that *declares* width × height one-bit pixels."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def noisy_png(size=(200, 200)) -> bytes:
    """A real PNG that does not compress well (random pixels): tens of kilobytes."""
    import os

    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)
HOSTILE = {
    "text-renamed-png": (b"#!/bin/sh\necho pwned\n" * 20, "Upload a valid image"),
    "html-renamed-png": (b"<html><script>alert(1)</script></html>", "Upload a valid image"),
    "svg-with-script": (SVG, "Upload a valid image"),
    "svg-named-svg": (SVG, "Upload a valid image"),
    "empty": (b"", "The submitted file is empty"),
    "bomb-20000x20000": (declared_png(20000, 20000), "Upload a valid image"),
    "bomb-8000x8000": (declared_png(8000, 8000), "too many pixels"),
    "truncated-png": (png_bytes()[:60], "Upload a valid image"),
}


def _files_under(root: Path) -> list[Path]:
    return [path for path in Path(root).rglob("*") if path.is_file()] if Path(root).exists() else []


def _profile_data(user: User, **extra) -> dict:
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        **extra,
    }


@pytest.fixture
def shopper(client):
    user = UserFactory(username="uploader")
    client.force_login(user)
    return user


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_avatar_is_refused_with_a_message_and_nothing_is_stored(
    client, shopper, settings, kind
):
    content, message = HOSTILE[kind]
    name = "avatar.svg" if kind == "svg-named-svg" else "avatar.png"
    upload = SimpleUploadedFile(name, content, content_type="image/png")
    response = client.post(PROFILE_URL, _profile_data(shopper, first_name="Changed", avatar=upload))

    assert response.status_code == HTTPStatus.OK  # the form again, not a redirect or a 500
    assert message in response.content.decode()
    shopper.refresh_from_db()
    assert not shopper.avatar
    assert shopper.first_name == "Test"  # an invalid form saves nothing at all
    assert _files_under(settings.MEDIA_ROOT) == []


def test_an_avatar_over_the_size_limit_is_refused_and_nothing_is_stored(client, shopper, settings):
    content = noisy_png()
    settings.MAX_UPLOAD_IMAGE_BYTES = len(content) - 1
    upload = SimpleUploadedFile("big.png", content, content_type="image/png")
    response = client.post(PROFILE_URL, _profile_data(shopper, avatar=upload))

    assert response.status_code == HTTPStatus.OK
    assert "The image is too large" in response.content.decode()
    shopper.refresh_from_db()
    assert not shopper.avatar
    assert _files_under(settings.MEDIA_ROOT) == []


@pytest.mark.parametrize(
    "filename",
    [
        "../../../../etc/passwd.png",
        "..\\..\\windows\\evil.png",
        "name\x00.php.png",
        "bell\x07and\x1bescape.png",
        "<script>alert(1)</script>.png",
        "über großes ☃ bild.png",
        "x" * 300 + ".png",
    ],
)
def test_a_stored_avatar_gets_our_name_never_the_uploaders(client, shopper, settings, filename):
    upload = SimpleUploadedFile(filename, png_bytes(), content_type="image/png")
    response = client.post(PROFILE_URL, _profile_data(shopper, avatar=upload))

    assert response.status_code == HTTPStatus.FOUND
    shopper.refresh_from_db()
    assert re.fullmatch(
        rf"avatars/\d{{4}}/\d{{2}}/{shopper.pk}-[a-z0-9]{{8}}\.jpg", shopper.avatar.name
    )
    stored = _files_under(settings.MEDIA_ROOT)
    assert [path.relative_to(settings.MEDIA_ROOT).as_posix() for path in stored] == [
        shopper.avatar.name
    ]


# ------------------------------------------------------------------------------
# Product images in the admin
# ------------------------------------------------------------------------------
def _post_product_image(admin_client, product, upload):
    data = change_form_data(
        product,
        **{
            "images-TOTAL_FORMS": "1",
            "images-0-image": upload,
            "images-0-alt_text": "A picture",
            "images-0-position": "0",
            "images-0-product": str(product.pk),
        },
    )
    return admin_client.post(reverse("admin:products_product_change", args=[product.pk]), data)


@pytest.mark.parametrize("kind", [k for k in HOSTILE if k != "empty"])
def test_a_hostile_product_image_is_refused_in_the_admin(admin_client, settings, kind):
    product = ProductFactory(name="Teapot")
    content, message = HOSTILE[kind]
    upload = SimpleUploadedFile("teapot.png", content, content_type="image/png")
    response = _post_product_image(admin_client, product, upload)

    assert response.status_code == HTTPStatus.OK  # the change form again, with the error
    assert message in response.content.decode()
    assert not ProductImage.objects.filter(product=product).exists()
    assert _files_under(settings.MEDIA_ROOT) == []


def test_an_oversized_product_image_is_refused_in_the_admin(admin_client, settings):
    product = ProductFactory(name="Teapot")
    content = noisy_png()
    settings.MAX_UPLOAD_IMAGE_BYTES = len(content) - 1
    upload = SimpleUploadedFile("teapot.png", content, content_type="image/png")
    response = _post_product_image(admin_client, product, upload)

    assert response.status_code == HTTPStatus.OK
    assert "The image is too large" in response.content.decode()
    assert not ProductImage.objects.filter(product=product).exists()
    assert _files_under(settings.MEDIA_ROOT) == []


@pytest.mark.parametrize(
    "filename",
    ["../../../../tmp/escape.png", "a\x01b\x1fc.png", "<img src=x onerror=alert(1)>.png"],
)
def test_a_product_image_is_stored_under_a_safe_name(admin_client, settings, filename):
    product = ProductFactory(name="Teapot")
    upload = SimpleUploadedFile(filename, png_bytes(), content_type="image/png")
    response = _post_product_image(admin_client, product, upload)

    assert response.status_code == HTTPStatus.FOUND
    image = ProductImage.objects.get(product=product)
    assert image.image.name.startswith("products/")
    media = Path(settings.MEDIA_ROOT).resolve()
    for path in _files_under(media):
        relative = path.resolve().relative_to(media).as_posix()  # raises if outside MEDIA_ROOT
        assert SAFE_NAME.fullmatch(relative), relative
        assert ".." not in relative


@pytest.mark.parametrize("side", [8000, 20000])
def test_the_validator_names_too_many_pixels_for_a_bomb_of_any_size(side):
    from django.core.exceptions import ValidationError

    from myecommerce.validators import validate_image_upload

    with pytest.raises(ValidationError) as excinfo:
        validate_image_upload(SimpleUploadedFile("bomb.png", declared_png(side, side)))
    assert excinfo.value.code == "image_too_many_pixels"
