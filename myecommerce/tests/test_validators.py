import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from myecommerce.validators import validate_image_upload
from products.tests.factories import png_bytes


def test_a_real_png_is_accepted():
    validate_image_upload(SimpleUploadedFile("a.png", png_bytes(), content_type="image/png"))


@pytest.mark.parametrize(
    "content",
    [b"not an image at all", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', b""],
    ids=["text-renamed-png", "svg", "empty"],
)
def test_non_images_are_refused(content):
    with pytest.raises(ValidationError) as excinfo:
        validate_image_upload(SimpleUploadedFile("evil.png", content, content_type="image/png"))
    assert excinfo.value.code == "invalid_image"


def test_an_oversized_file_is_refused(settings):
    settings.MAX_UPLOAD_IMAGE_BYTES = 100
    with pytest.raises(ValidationError) as excinfo:
        validate_image_upload(SimpleUploadedFile("big.png", png_bytes(), content_type="image/png"))
    assert excinfo.value.code == "image_too_large"


def test_a_decompression_bomb_is_refused():
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("1", (8000, 8000)).save(buffer, format="PNG")  # 64 Mpx, tiny on disk
    with pytest.raises(ValidationError) as excinfo:
        validate_image_upload(SimpleUploadedFile("bomb.png", buffer.getvalue()))
    assert excinfo.value.code in {"image_too_many_pixels", "invalid_image"}
