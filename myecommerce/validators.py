"""Validators shared by every app that accepts uploads (avatars, product images)."""

from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from myecommerce.imaging import (
    ALLOWED_IMAGE_EXTENSIONS,
    ALLOWED_IMAGE_FORMATS,
    decoding_refusal,
)

INVALID_IMAGE = _("Upload a valid image: JPEG, PNG, GIF or WebP.")
REFUSALS = {
    "image_too_many_pixels": _(
        "The image has too many pixels (%(w)s×%(h)s); the limit is %(limit)s megapixels."
    ),
    "image_aspect_ratio": _(
        "The image is too long and thin (%(w)s×%(h)s): one side may be at most %(ratio)s "
        "times the other."
    ),
}


def validate_image_upload(file) -> None:
    """Accept only real JPEG/PNG/GIF/WebP images within the size limits.

    Both the content and the file name count: a text file renamed `.png` or an SVG is
    refused, and so is a real PNG named `.pdf` or `.eps` (a polyglot). Only the header is
    read: an image whose decoding would cost too much memory (myecommerce.imaging) is
    refused before a pixel is decoded.
    """
    limit = settings.MAX_UPLOAD_IMAGE_BYTES
    if file.size is not None and file.size > limit:
        raise ValidationError(
            _("The image is too large (%(size)s); the limit is %(limit)s."),
            code="image_too_large",
            params={"size": filesizeformat(file.size), "limit": filesizeformat(limit)},
        )
    extension = PurePath(getattr(file, "name", "") or "").suffix.lower().lstrip(".")
    if extension not in ALLOWED_IMAGE_EXTENSIONS:
        raise ValidationError(
            _("Upload a JPEG, PNG, GIF or WebP image: “.%(extension)s” files are not accepted."),
            code="invalid_image_extension",
            params={"extension": extension[:10]},
        )
    position = file.tell() if hasattr(file, "tell") else None
    try:
        file.seek(0)
        with Image.open(file) as image:
            image_format = image.format
            if image_format in ALLOWED_IMAGE_FORMATS:
                refusal = decoding_refusal(image)
                if refusal is not None:
                    code, params = refusal
                    raise ValidationError(REFUSALS[code], code=code, params=params)
            image.verify()
    except ValidationError:
        raise
    except Image.DecompressionBombError:
        # Pillow refuses to even open it: far more pixels than MAX_UPLOAD_IMAGE_PIXELS.
        raise ValidationError(
            _("The image has too many pixels to be processed safely."),
            code="image_too_many_pixels",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError(INVALID_IMAGE, code="invalid_image") from None
    finally:
        if position is not None:
            file.seek(position)
    if image_format not in ALLOWED_IMAGE_FORMATS:
        raise ValidationError(INVALID_IMAGE, code="invalid_image_format")
