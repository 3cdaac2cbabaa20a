"""Thumbnails for product images, made once with Pillow when an image is saved.

Pages then only read two stored file names: no image work and no thumbnail-cache lookups
on the request path, so a page of 24 products costs the same queries as a page of one.
"""

from io import BytesIO
from pathlib import PurePosixPath

from django.core.files.base import ContentFile
from PIL import Image, ImageOps

# Square crop for product cards; the detail image keeps its proportions within the box.
LIST_SIZE = (400, 400)
DETAIL_SIZE = (900, 900)
THUMBNAIL_FORMAT = "WEBP"
THUMBNAIL_QUALITY = 82


def _open_rgb(file) -> Image.Image:
    file.seek(0)
    with Image.open(file) as source:
        source.seek(0)  # first frame of an animated GIF/WebP
        image = ImageOps.exif_transpose(source)
        return image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")


def _encode(image: Image.Image, *, name: str) -> ContentFile:
    buffer = BytesIO()
    image.save(buffer, format=THUMBNAIL_FORMAT, quality=THUMBNAIL_QUALITY, method=2)
    return ContentFile(buffer.getvalue(), name=name)


def thumbnails_make(file, *, stem: str) -> tuple[ContentFile, ContentFile]:
    """Return (list, detail) WebP thumbnails of an image file.

    Raises PIL/OS errors for files that are not images; callers decide what that means.
    """
    image = _open_rgb(file)
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
