"""What an upload may cost a worker (issue 16.4) and what is kept of it (issue 16.9).

Memory is measured, not assumed: each image is validated and processed as a product image
upload is, in a fresh interpreter, and the growth of its peak resident memory (ru_maxrss)
must stay under 100 MB, for the attacks (a 132 KB PNG declaring 6324×6324 pixels, a
1×40,000,000 strip) and for the largest images that are accepted.
"""

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.urls import reverse
from PIL import ExifTags, Image

from accounts.tests.factories import UserFactory
from myecommerce.tests.conftest import ROOT
from products.models import ProductImage
from products.tests.factories import ProductFactory, change_form_data, png_bytes

MB = 1024 * 1024
PROFILE_URL = reverse("accounts:profile")


# ------------------------------------------------------------------------------
# Images written without ever holding their pixels in memory
# ------------------------------------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png(path: Path, width: int, height: int, *, alpha: bool = False) -> Path:
    """A real, fully decodable black PNG, compressed row by row (a few MB of memory)."""
    channels = 4 if alpha else 3
    row = b"\x00" + bytes(width * channels)
    rows_per_batch = max(1, (4 * MB) // len(row))
    compressor = zlib.compressobj(9)
    with open(path, "wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n")
        header = struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0)
        out.write(_chunk(b"IHDR", header))
        left = height
        while left:
            batch = min(left, rows_per_batch)
            data = compressor.compress(row * batch)
            if data:
                out.write(_chunk(b"IDAT", data))
            left -= batch
        out.write(_chunk(b"IDAT", compressor.flush()))
        out.write(_chunk(b"IEND", b""))
    return path


def write_jpeg(path: Path, width: int, height: int) -> Path:
    """A large JPEG, made in another process so its pixels never count against this one."""
    code = (
        "from PIL import Image; import sys; "
        f"Image.new('RGB', ({width}, {height}), (200, 120, 40)).save(sys.argv[1], 'JPEG')"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=120)  # noqa: S603
    return path


MEASURE = """
import json, os, resource, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myecommerce.settings")
import django
django.setup()
from django.core.exceptions import ValidationError
from django.core.files import File
from myecommerce.validators import validate_image_upload
from products.images import product_image_files_make

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux

path = sys.argv[1]
before = peak()
result = {}
with open(path, "rb") as handle:
    upload = File(handle, name=os.path.basename(path))
    try:
        validate_image_upload(upload)
        result["validator"] = "accepted"
    except ValidationError as error:
        result["validator"] = error.code
    # The processing itself is bounded too, whatever the validator said (a stored file
    # whose thumbnails are remade later never meets the validator).
    try:
        original, card, detail = product_image_files_make(upload, stem="x")
        result["stored"] = len(original)
    except ValueError as error:
        result["stored"] = type(error).__name__
result["growth"] = peak() - before
print(json.dumps(result))
"""


def measure(path: Path) -> dict:
    env = {**os.environ, "SECRET_KEY": "k" * 50, "DEBUG": "False"}
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", MEASURE, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "name, make, validator, stored",
    [
        # The attacks: refused from the header, before a pixel is decoded.
        ("bomb.png", lambda p: write_png(p, 6324, 6324), "image_too_many_pixels", "ImageTooCostly"),
        (
            "strip.png",
            lambda p: write_png(p, 1, 40_000_000),
            "image_aspect_ratio",
            "ImageTooCostly",
        ),
        # The largest accepted images: 16 megapixels, 8.9 with transparency (Pillow shrinks
        # those through a premultiplied copy), a 40 MP camera JPEG (decoded at half size).
        ("big.png", lambda p: write_png(p, 4000, 4000), "accepted", int),
        ("alpha.png", lambda p: write_png(p, 2980, 2980, alpha=True), "accepted", int),
        (
            "too-big.png",
            lambda p: write_png(p, 4000, 4000, alpha=True),
            "image_too_many_pixels",
            "ImageTooCostly",
        ),
        ("photo.jpg", lambda p: write_jpeg(p, 8000, 5000), "accepted", int),
    ],
)
def test_no_upload_adds_more_than_100_mb_to_a_worker(tmp_path, name, make, validator, stored):
    path = make(tmp_path / name)
    result = measure(path)
    assert result["validator"] == validator
    if stored is int:
        assert isinstance(result["stored"], int) and result["stored"] > 0
    else:
        assert result["stored"] == stored
    assert result["growth"] < 100 * MB, f"{name}: {result['growth'] / MB:.0f} MB"


def test_the_attack_png_is_small_on_disk_but_refused_with_a_message(tmp_path):
    from django.core.exceptions import ValidationError

    from myecommerce.validators import validate_image_upload

    content = write_png(tmp_path / "bomb.png", 6324, 6324).read_bytes()
    assert len(content) < 200 * 1024
    with pytest.raises(ValidationError) as excinfo:
        validate_image_upload(SimpleUploadedFile("bomb.png", content))
    assert "too many pixels (6324×6324); the limit is 16 megapixels" in str(excinfo.value)

    strip = write_png(tmp_path / "strip.png", 1, 40_000_000).read_bytes()
    with pytest.raises(ValidationError) as excinfo:
        validate_image_upload(SimpleUploadedFile("strip.png", strip))
    assert "too long and thin (1×40000000)" in str(excinfo.value)


# ------------------------------------------------------------------------------
# An oversized request is refused while it arrives, before it is stored
# ------------------------------------------------------------------------------
class RecordingHandler(TemporaryFileUploadHandler):
    """Stands for the handlers that store files: records the most bytes it was given."""

    most = 0

    def receive_data_chunk(self, raw_data, start):
        RecordingHandler.most = max(RecordingHandler.most, start + len(raw_data))
        return super().receive_data_chunk(raw_data, start)


@pytest.fixture
def recording_handlers(settings):
    RecordingHandler.most = 0
    settings.FILE_UPLOAD_HANDLERS = [
        "myecommerce.uploads.UploadLimitHandler",
        f"{__name__}.RecordingHandler",
    ]
    return RecordingHandler


@pytest.mark.django_db
def test_an_oversized_avatar_is_refused_with_413_and_never_stored(
    client, settings, recording_handlers
):
    settings.MAX_UPLOAD_REQUEST_BYTES = 256 * 1024
    user = UserFactory(username="uploader")
    client.force_login(user)
    big = SimpleUploadedFile("big.png", os.urandom(3 * MB), content_type="image/png")
    response = client.post(
        PROFILE_URL,
        {"username": "uploader", "first_name": "Changed", "email": user.email, "avatar": big},
    )
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert "larger than 256.0\xa0KB, so nothing was stored" in response.content.decode()
    # The handlers that write files were never given a byte past the limit.
    assert 0 < recording_handlers.most <= 256 * 1024
    user.refresh_from_db()
    assert user.first_name != "Changed" and not user.avatar
    assert not any(Path(settings.MEDIA_ROOT).rglob("*.*"))


@pytest.mark.django_db
def test_a_request_declaring_100_mb_is_refused_before_a_byte_is_read(rf, settings):
    from myecommerce.uploads import UploadLimitMiddleware

    class Unreadable(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, buffer):
            raise AssertionError("the body was read")

    request = rf.post("/accounts/profile/", data={"x": "1"})
    request.META["CONTENT_LENGTH"] = str(100 * MB)
    request.META["wsgi.input"] = Unreadable()
    request._stream = Unreadable()
    middleware = UploadLimitMiddleware(lambda request: None)
    response = middleware.process_view(request, None, (), {})
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE


@pytest.mark.django_db
def test_an_upload_within_the_limit_still_works(client, recording_handlers):
    user = UserFactory(username="uploader")
    client.force_login(user)
    upload = SimpleUploadedFile("me.png", png_bytes(), content_type="image/png")
    response = client.post(
        PROFILE_URL,
        {"username": "uploader", "first_name": "Ada", "email": user.email, "avatar": upload},
    )
    assert response.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert user.avatar and user.first_name == "Ada"


# ------------------------------------------------------------------------------
# What is kept: re-encoded originals without metadata, four formats only (issue 16.9)
# ------------------------------------------------------------------------------
def jpeg_with_gps(size=(60, 30)) -> bytes:
    """A JPEG whose EXIF says where it was taken, by which camera, and "turn me 90°"."""
    image = Image.new("RGB", size, (10, 120, 200))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # rotate 90° clockwise to display
    exif[ExifTags.Base.Make] = "SpyCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def polyglot() -> bytes:
    """A real PNG with a PDF after its end: an image to Pillow, a document to a PDF reader."""
    return png_bytes() + b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>%%EOF"


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


@pytest.mark.django_db
def test_a_product_photo_is_stored_without_its_gps_exif_and_turned_upright(admin_client):
    product = ProductFactory(name="Teapot")
    content = jpeg_with_gps()
    assert Image.open(io.BytesIO(content)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    upload = SimpleUploadedFile("IMG_0001.jpg", content, content_type="image/jpeg")
    response = _post_product_image(admin_client, product, upload)

    assert response.status_code == HTTPStatus.FOUND
    stored = ProductImage.objects.get(product=product)
    assert "IMG_0001" not in stored.image.name
    with stored.image.open("rb") as handle:
        kept = handle.read()
    assert kept != content and b"SpyCam" not in kept
    image = Image.open(io.BytesIO(kept))
    assert image.format == "JPEG"
    assert not image.getexif()  # no EXIF at all: no GPS, no camera, no orientation left
    assert "exif" not in image.info
    assert image.size == (30, 60)  # the orientation was applied, not dropped


@pytest.mark.django_db
def test_an_avatar_is_stored_without_its_gps_exif(client):
    user = UserFactory(username="uploader")
    client.force_login(user)
    upload = SimpleUploadedFile("me.jpg", jpeg_with_gps(), content_type="image/jpeg")
    response = client.post(
        PROFILE_URL, {"username": "uploader", "email": user.email, "avatar": upload}
    )
    assert response.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    with user.avatar.open("rb") as handle:
        kept = handle.read()
    assert b"SpyCam" not in kept
    assert not Image.open(io.BytesIO(kept)).getexif()


@pytest.mark.django_db
def test_a_png_with_a_pdf_appended_is_stored_without_it(admin_client):
    product = ProductFactory(name="Teapot")
    upload = SimpleUploadedFile("teapot.png", polyglot(), content_type="image/png")
    assert _post_product_image(admin_client, product, upload).status_code == HTTPStatus.FOUND
    with ProductImage.objects.get(product=product).image.open("rb") as handle:
        assert b"%PDF" not in handle.read()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["teapot.pdf", "teapot.eps", "teapot.tiff", "teapot.ico"])
def test_an_image_named_pdf_or_eps_is_refused_in_the_admin(admin_client, settings, name):
    product = ProductFactory(name="Teapot")
    upload = SimpleUploadedFile(name, polyglot(), content_type="application/pdf")
    response = _post_product_image(admin_client, product, upload)

    assert response.status_code == HTTPStatus.OK  # the form again
    extension = name.rsplit(".", 1)[1]
    assert (
        f"Upload a JPEG, PNG, GIF or WebP image: “.{extension}” files are not accepted."
        in response.content.decode()
    )
    assert not ProductImage.objects.filter(product=product).exists()
    assert not any(Path(settings.MEDIA_ROOT).rglob("*.*"))


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["me.pdf", "me.eps"])
def test_an_avatar_named_pdf_or_eps_is_refused(client, name):
    user = UserFactory(username="uploader")
    client.force_login(user)
    upload = SimpleUploadedFile(name, polyglot(), content_type="application/pdf")
    response = client.post(
        PROFILE_URL, {"username": "uploader", "email": user.email, "avatar": upload}
    )
    assert response.status_code == HTTPStatus.OK
    extension = name.rsplit(".", 1)[1]
    assert f"“.{extension}” files are not accepted" in response.content.decode()
    user.refresh_from_db()
    assert not user.avatar
