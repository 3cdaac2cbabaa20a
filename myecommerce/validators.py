"""Validators shared by every app that accepts uploads (avatars, product images)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

ALLOWED_IMAGE_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
# Pillow refuses images with more pixels than this (decompression bombs).
MAX_IMAGE_PIXELS = 40_000_000


def validate_image_upload(file) -> None:
    """Accept only real JPEG/PNG/GIF/WebP images within the size limit.

    The content is checked, not the file name: a text file renamed `.png` or an SVG is refused.
    """
    limit = settings.MAX_UPLOAD_IMAGE_BYTES
    if file.size is not None and file.size > limit:
        raise ValidationError(
            _("The image is too large (%(size)s); the limit is %(limit)s."),
            code="image_too_large",
            params={"size": filesizeformat(file.size), "limit": filesizeformat(limit)},
        )
    position = file.tell() if hasattr(file, "tell") else None
    try:
        file.seek(0)
        with Image.open(file) as image:
            image_format = image.format
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ValidationError(
                    _("The image has too many pixels (%(w)s×%(h)s)."),
                    code="image_too_many_pixels",
                    params={"w": width, "h": height},
                )
            image.verify()
    except ValidationError:
        raise
    except Image.DecompressionBombError:
        # Pillow refuses to even open it: far more pixels than MAX_IMAGE_PIXELS.
        raise ValidationError(
            _("The image has too many pixels to be processed safely."),
            code="image_too_many_pixels",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError(
            _("Upload a valid image: JPEG, PNG, GIF or WebP."), code="invalid_image"
        ) from None
    finally:
        if position is not None:
            file.seek(position)
    if image_format not in ALLOWED_IMAGE_FORMATS:
        raise ValidationError(
            _("Upload a valid image: JPEG, PNG, GIF or WebP."), code="invalid_image_format"
        )
