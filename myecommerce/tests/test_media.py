"""Uploads kept in MEDIA_ROOT are served by the shop itself, in production too (issue 15.20).

With gunicorn alone (DEBUG=False, no bucket) every product image used to be a 404: only
DEBUG served /media/. Now myecommerce.views.media serves images (and nothing else) from
MEDIA_ROOT, with cache headers; nginx can serve the same files faster (README).
"""

import re
from http import HTTPStatus

import pytest

from products.tests.factories import ProductImageFactory, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False


@pytest.fixture
def image():
    return ProductImageFactory(product__name="Blue mug", product__stock=3)


def test_a_product_page_shows_images_that_are_served_in_production(client, image):
    page = client.get(image.product.get_absolute_url())
    assert page.status_code == HTTPStatus.OK
    sources = re.findall(r'<img[^>]+src="(/media/[^"]+)"', page.content.decode())
    assert sources, "the product page shows its image"
    for src in sources:
        response = client.get(src)
        assert response.status_code == HTTPStatus.OK, src
        body = b"".join(response.streaming_content)
        assert body[:4] in {b"RIFF", b"\x89PNG"}  # WebP thumbnail or the PNG original
        assert response["Content-Type"] in {"image/webp", "image/png"}
        assert response["Cache-Control"] == "public, max-age=86400"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Last-Modified"]
        assert "Set-Cookie" not in response


def test_the_original_upload_is_served_with_its_type_and_revalidates_with_a_304(client, image):
    url = image.image.url
    first = client.get(url)
    assert first.status_code == HTTPStatus.OK
    assert first["Content-Type"] == "image/png"
    assert b"".join(first.streaming_content) == image.image.open("rb").read()
    again = client.get(url, headers={"if-modified-since": first["Last-Modified"]})
    assert again.status_code == HTTPStatus.NOT_MODIFIED
    assert client.head(url).status_code == HTTPStatus.OK
    assert client.post(url).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_only_image_files_inside_media_root_are_served(client, settings, tmp_path):
    media = settings.MEDIA_ROOT
    (media / "products" / "pic.png").mkdir(parents=True)  # a directory named like an image
    (media / "notes.txt").write_text("private")
    (media / "page.html").write_text("<script>alert(1)</script>")
    (media / "drawing.svg").write_text("<svg onload='alert(1)'/>")
    (media / "noext").write_bytes(png_bytes())
    (media / "ok.PNG").write_bytes(png_bytes())
    (tmp_path / "outside.png").write_bytes(png_bytes())  # beside MEDIA_ROOT, not in it

    assert client.get("/media/ok.PNG").status_code == HTTPStatus.OK
    for path in [
        "/media/",
        "/media/products",
        "/media/products/",
        "/media/products/pic.png",
        "/media/products/pic.png/",
        "/media/notes.txt",
        "/media/page.html",
        "/media/drawing.svg",
        "/media/noext",
        "/media/missing.png",
        "/media/../outside.png",
        "/media/%2e%2e/outside.png",
        "/media/products/../../outside.png",
        f"/media/{tmp_path / 'outside.png'}",
        "/media//etc/passwd.png",
        "/media/bad%00.png",
    ]:
        assert client.get(path).status_code == HTTPStatus.NOT_FOUND, path


def test_nothing_is_served_from_disk_when_uploads_live_in_a_bucket(client, settings, image):
    url = image.image.url
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": "shop-media"},
        },
    }
    assert client.get(url).status_code == HTTPStatus.NOT_FOUND
