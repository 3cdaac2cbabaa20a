"""Thumbnails for product images, made once with Pillow when an image is saved.

Pages then only read two stored file names: no image work and no thumbnail-cache lookups
on the request path, so a page of 24 products costs the same queries as a page of one.
A new upload is decoded once, within a memory bound (myecommerce.imaging), and what is kept
of it is a re-encoding: the uploaded bytes (EXIF with a GPS position, a PDF riding along in
a PNG) are never stored.
"""

from io import BytesIO
from pathlib import PurePosixPath

from django.core.files.base import ContentFile
from django.utils.crypto import get_random_string
from PIL import Image, ImageOps

from myecommerce.imaging import image_encode, image_load_bounded

# Square crop for product cards; the detail image keeps its proportions within the box.
LIST_SIZE = (400, 400)
DETAIL_SIZE = (900, 900)
THUMBNAIL_FORMAT = "WEBP"
THUMBNAIL_QUALITY = 82


def _encode(image: Image.Image, *, name: str) -> ContentFile:
    buffer = BytesIO()
    image.save(buffer, format=THUMBNAIL_FORMAT, quality=THUMBNAIL_QUALITY, method=2)
    return ContentFile(buffer.getvalue(), name=name)


def thumbnails_make(file, *, stem: str) -> tuple[ContentFile, ContentFile]:
    """Return (list, detail) WebP thumbnails of an image file.

    Raises PIL/OS errors (ValueError for an image too costly to decode) for files that are
    not acceptable images; callers decide what that means.
    """
    image, _uploaded_format = image_load_bounded(file)
    return _thumbnails(image, stem=stem)


def product_image_files_make(file, *, stem: str) -> tuple[ContentFile, ContentFile, ContentFile]:
    """Return (original, list, detail) for a new upload: the original re-encoded (at most
    myecommerce.imaging.STORED_MAX_SIDE, upright, no metadata) under a name we make up."""
    image, uploaded_format = image_load_bounded(file)
    content, extension = image_encode(image, uploaded_format=uploaded_format)
    original = ContentFile(content, name=f"{get_random_string(12).lower()}.{extension}")
    return (original, *_thumbnails(image, stem=original.name))


def _thumbnails(image: Image.Image, *, stem: str) -> tuple[ContentFile, ContentFile]:
    stem = PurePosixPath(stem).stem[:80] or "image"
    card = ImageOps.fit(image, LIST_SIZE, method=Image.Resampling.LANCZOS)
    detail = image.copy()
    detail.thumbnail(DETAIL_SIZE, Image.Resampling.LANCZOS)
    return (
        _encode(card, name=f"{stem}-list.webp"),
        _encode(detail, name=f"{stem}-detail.webp"),
    )


IMAGE_FILE_FIELDS = ("image", "thumbnail_list", "thumbnail_detail")


def product_image_files_delete(image) -> None:
    """Delete a removed ProductImage's original and thumbnails from storage (disk or bucket).

    Called after the delete commits. A file that another row still names is kept: generated
    catalogues share a few files between many image rows.
    """
    from django.db.models import Q

    names = {getattr(image, field).name for field in IMAGE_FILE_FIELDS} - {"", None}
    if not names:
        return
    still_used = Q()
    for field in IMAGE_FILE_FIELDS:
        still_used |= Q(**{f"{field}__in": names})
    model = type(image)
    for row in model._default_manager.filter(still_used).values_list(*IMAGE_FILE_FIELDS):
        names.difference_update(row)
    storage = image.image.storage
    for name in sorted(names):
        storage.delete(name)


def product_image_thumbnails_refresh(*, only_missing: bool = True) -> tuple[int, int]:
    """Remake list and detail thumbnails (e.g. after a size change, or for rows made with
    bulk_create). Returns (made, failed). One image at a time, so memory stays flat."""
    from django.db.models import Q

    from .models import ProductImage  # the models import this module for their thumbnails

    images = ProductImage.objects.select_related("product").order_by("pk")
    if only_missing:
        images = images.filter(Q(thumbnail_list="") | Q(thumbnail_detail=""))
    made = failed = 0
    for image in images.iterator(chunk_size=200):
        if image.thumbnails_refresh():
            image.save(update_fields=["thumbnail_list", "thumbnail_detail"])
            made += 1
        else:
            failed += 1
    return made, failed
