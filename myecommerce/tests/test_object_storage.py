"""Uploads on S3-compatible object storage, against a real S3 API on loopback.

moto's server mode (`moto_server`, from moto[server]) is started once for these tests and
stopped at the end; each test gets its own bucket and points STORAGES["default"] at it, as
AWS_STORAGE_BUCKET_NAME and AWS_S3_ENDPOINT_URL do in production. Skipped when moto_server
cannot start (failed instead under REQUIRE_SERVICES=1).
"""

import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from storages.backends.s3 import S3Storage

from accounts.tests.factories import StaffFactory, UserFactory
from myecommerce.tests.conftest import free_port, service_missing
from products.models import ProductImage
from products.tests.factories import ProductFactory, change_form_data, png_bytes

pytestmark = pytest.mark.django_db

MOTO_SERVER = Path(sys.executable).with_name("moto_server")
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
REGION = "us-east-1"


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """moto_server on a free loopback port for the whole session; killed at the end."""
    if not MOTO_SERVER.exists():
        service_missing(f"moto_server is not installed ({MOTO_SERVER}); pip install moto[server]")
    port = free_port(8300, 8399)
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(  # noqa: S603 - the venv's moto_server, fixed arguments
            [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(endpoint, timeout=2) as response:  # noqa: S310
                    if response.status == HTTPStatus.OK:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                service_missing(f"moto_server did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        yield endpoint
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


@pytest.fixture
def bucket(s3_endpoint, settings):
    """A fresh bucket, and the shop's uploads pointed at it through django-storages."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION, **KEYS)
    name = f"media-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    # Anyone may read the pictures (as the README tells operators); only the shop writes.
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(public_read_policy(name)))
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": name,
                "endpoint_url": s3_endpoint,
                "region_name": REGION,
                "access_key": KEYS["aws_access_key_id"],
                "secret_key": KEYS["aws_secret_access_key"],
                "querystring_auth": False,
                "file_overwrite": False,
                "object_parameters": {"CacheControl": "max-age=86400, public"},
            },
        },
    }

    class Bucket:
        endpoint = s3_endpoint

        def keys(self) -> set[str]:
            listing = s3.list_objects_v2(Bucket=name)
            return {item["Key"] for item in listing.get("Contents", [])}

        def has(self, key: str) -> bool:
            return key in self.keys()

        def read(self, key: str) -> bytes:
            return s3.get_object(Bucket=name, Key=key)["Body"].read()

        def url(self, key: str) -> str:
            return f"{s3_endpoint}/{name}/{key}"

    Bucket.name = name
    return Bucket()


def public_read_policy(bucket_name: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicReadForMedia",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket_name}/*",
            }
        ],
    }


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return response.read()


def _upload(size=(1200, 800), name="kettle.png"):
    return SimpleUploadedFile(name, png_bytes(size), content_type="image/png")


def test_uploads_go_through_django_storages_to_the_bucket(bucket):
    assert isinstance(default_storage, S3Storage)
    saved = default_storage.save("probe/hello.txt", io.BytesIO(b"hello"))
    assert bucket.read(saved) == b"hello"
    assert default_storage.url(saved) == bucket.url(saved)


def test_a_product_image_and_its_thumbnails_are_stored_in_the_bucket(bucket, client):
    product = ProductFactory(name="Kettle", slug="kettle")
    image = ProductImage.objects.create(product=product, image=_upload(), alt_text="A kettle")

    keys = bucket.keys()
    assert keys == {image.image.name, image.thumbnail_list.name, image.thumbnail_detail.name}
    assert image.image.name.startswith("products/") and image.image.name.endswith(".png")
    # The thumbnails are real WebP images made with Pillow from the object in the bucket.
    with Image.open(io.BytesIO(bucket.read(image.thumbnail_list.name))) as card:
        assert (card.format, card.size) == ("WEBP", (400, 400))
    with Image.open(io.BytesIO(bucket.read(image.thumbnail_detail.name))) as detail:
        assert detail.format == "WEBP" and max(detail.size) == 900

    # Pages point straight at the object storage, and what they point at is there.
    detail_page = client.get(product.get_absolute_url()).content.decode()
    assert bucket.url(image.thumbnail_detail.name) in detail_page
    list_page = client.get(reverse("products:list")).content.decode()
    assert bucket.url(image.thumbnail_list.name) in list_page
    assert _fetch(bucket.url(image.thumbnail_list.name)) == bucket.read(image.thumbnail_list.name)


def test_a_second_upload_with_the_same_name_does_not_overwrite_the_first(bucket):
    product = ProductFactory()
    first = ProductImage.objects.create(product=product, image=_upload(name="same.png"))
    second = ProductImage.objects.create(product=product, image=_upload(name="same.png"))
    assert first.image.name != second.image.name
    assert {first.image.name, second.image.name} <= bucket.keys()


def test_staff_upload_a_product_image_in_the_admin_into_the_bucket(bucket, client):
    client.force_login(StaffFactory(is_superuser=True))
    product = ProductFactory(name="Teapot", stock=3)
    data = change_form_data(
        product,
        **{
            "images-TOTAL_FORMS": "1",
            "images-0-image": _upload(name="teapot.png"),
            "images-0-alt_text": "A teapot",
            "images-0-position": "0",
        },
    )
    response = client.post(reverse("admin:products_product_change", args=[product.pk]), data)
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]

    image = product.images.get()
    # A re-encoding under a name we made up, never the uploaded file (issue 16.9).
    assert image.image.name.startswith("products/") and "teapot" not in image.image.name
    assert bucket.keys() == {
        image.image.name,
        image.thumbnail_list.name,
        image.thumbnail_detail.name,
    }
    change_page = client.get(reverse("admin:products_product_change", args=[product.pk]))
    assert bucket.url(image.image.name) in change_page.content.decode()


def test_an_avatar_is_stored_in_the_bucket_and_the_old_one_removed_on_change(
    bucket, client, django_capture_on_commit_callbacks
):
    user = UserFactory()
    client.force_login(user)
    profile = {
        "username": user.username,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": user.email,
        "country": "",
    }
    response = client.post(
        reverse("accounts:profile"), {**profile, "avatar": _upload((500, 300), "me.png")}
    )
    assert response.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    first = user.avatar.name
    assert bucket.keys() == {first}
    with Image.open(io.BytesIO(bucket.read(first))) as avatar:
        assert (avatar.format, avatar.size) == ("JPEG", (256, 256))
    assert bucket.url(first) in client.get(reverse("accounts:profile")).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:profile"), {**profile, "avatar": _upload((300, 300), "me2.png")}
        )
    assert response.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert user.avatar.name != first
    assert bucket.keys() == {user.avatar.name}  # the replaced avatar was deleted
    with pytest.raises(urllib.error.HTTPError):
        _fetch(bucket.url(first))


def test_deleting_through_the_storage_removes_the_object(bucket):
    name = default_storage.save("products/2026/01/gone.png", io.BytesIO(png_bytes()))
    assert default_storage.exists(name) and bucket.has(name)
    default_storage.delete(name)
    assert not default_storage.exists(name)
    assert bucket.keys() == set()
