"""Decoding uploaded images within a memory bound, and re-encoding them without metadata.

An image file says little about what decoding it costs: a 132 KB PNG can declare 6324×6324
pixels (160 MB once decoded), and a 1×40,000,000 strip passes any pixel count. So the header
is read first (Pillow's `Image.open` decodes nothing) and an image is refused when the pixels
that would be decoded are over MAX_UPLOAD_IMAGE_PIXELS or its sides are further apart than
MAX_IMAGE_ASPECT_RATIO. A JPEG is decoded at the smallest scale (1/2, 1/4, 1/8, `draft`) still
at least as large as what is kept, so a camera photo costs a fraction of its pixel count; the
image is then reduced in place (`thumbnail`) before anything else makes a copy of it.

What is kept of an upload is re-encoded from the decoded pixels at most STORED_MAX_SIDE wide
and high, turned as its EXIF orientation says, with no EXIF (GPS position, camera serial),
XMP or comments: the uploaded bytes themselves are never stored.
"""

from __future__ import annotations

import math
from io import BytesIO

from django.conf import settings
from PIL import ExifTags, Image, ImageOps

# Decoded formats accepted, and the file name extensions that may carry them.
ALLOWED_IMAGE_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
ALLOWED_IMAGE_EXTENSIONS = {"jpg", "jpeg", "png", "gif", "webp"}
# Sides further apart than this are refused (a 1×40,000,000 strip is no product photo).
MAX_IMAGE_ASPECT_RATIO = 20
# The largest side of a stored original; list and detail thumbnails are made from it.
STORED_MAX_SIDE = 2560
# The format an original is stored in, by the format it was uploaded in: a GIF or an animated
# WebP keeps its first frame.
STORED_FORMAT = {"JPEG": "JPEG", "PNG": "PNG", "GIF": "PNG", "WEBP": "WEBP"}
STORED_EXTENSION = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
ORIENTATION = ExifTags.Base.Orientation


class ImageTooCostly(ValueError):
    """Decoding this image would take more memory than an upload may (see the module doc)."""


def fitted_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """`size` scaled down (never up) to fit in `box`, keeping its proportions."""
    width, height = size
    scale = min(1.0, box[0] / width, box[1] / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def draft_for(image: Image.Image, box: tuple[int, int]) -> tuple[int, int]:
    """Ask a not yet decoded JPEG to decode at a reduced scale still covering `box`; return
    the size that decoding will produce (the full size for other formats)."""
    if image.format == "JPEG":
        image.draft(None, fitted_size(image.size, box))
    return image.size


# Modes Pillow can shrink as they are (`reduce`); others (a palette, 1-bit, 16-bit grey) are
# converted to RGB(A) at full size first, and so cost their own bytes on top.
REDUCIBLE_MODES = {"L", "LA", "RGB", "RGBA", "RGBa", "CMYK", "YCbCr", "I", "F"}
_STORED_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2}
# Bytes a decoded RGB pixel costs while it is shrunk: 4, plus a quarter for the copy. The
# pixel limit is counted at this cost.
BYTES_PER_PIXEL = 5


def decoding_cost(mode: str, *, alpha: bool) -> float:
    """Bytes per pixel that decoding and shrinking an image of `mode` holds at its peak.

    Transparency costs a full copy more: Pillow shrinks it premultiplied (RGBA → RGBa).
    """
    stored = _STORED_BYTES.get(mode, 4)
    if mode in REDUCIBLE_MODES:
        return stored * 2 + 1 if alpha else stored * 1.25
    return stored + (8 if alpha else 4) + 1


def decoding_refusal(image: Image.Image) -> tuple[str, dict] | None:
    """Why an opened (not decoded) image may not be decoded, as (code, params), or None.

    MAX_UPLOAD_IMAGE_PIXELS is counted for an RGB(A) image: one of a costlier mode (a
    palette) may have fewer. Drafts a JPEG (see `draft_for`), so call it on an image that
    is then decoded or closed.
    """
    width, height = image.size
    if max(width, height) > MAX_IMAGE_ASPECT_RATIO * min(width, height):
        return "image_aspect_ratio", {"w": width, "h": height, "ratio": MAX_IMAGE_ASPECT_RATIO}
    decoded_width, decoded_height = draft_for(image, (STORED_MAX_SIDE, STORED_MAX_SIDE))
    alpha = "A" in image.getbands() or "transparency" in image.info
    cost = decoding_cost(image.mode, alpha=alpha)
    limit = settings.MAX_UPLOAD_IMAGE_PIXELS * BYTES_PER_PIXEL / max(cost, BYTES_PER_PIXEL)
    if decoded_width * decoded_height > limit:
        return "image_too_many_pixels", {"w": width, "h": height, "limit": f"{limit / 1e6:.3g}"}
    return None


def image_load_bounded(file, *, box: tuple[int, int] = (STORED_MAX_SIDE, STORED_MAX_SIDE)):
    """Decode `file` into an RGB or RGBA image at most `box` large, turned upright, with no
    metadata; returns (image, uploaded format).

    Raises ImageTooCostly for an image refused by `decoding_refusal`, PIL/OS errors for a
    file that is not an image.
    """
    file.seek(0)
    with Image.open(file) as source:
        refusal = decoding_refusal(source)
        if refusal is not None:
            raise ImageTooCostly(f"{refusal[0]}: {source.size[0]}×{source.size[1]}")
        uploaded_format = source.format
        orientation = source.getexif().get(ORIENTATION)
        draft_for(source, box)
        alpha = "A" in source.getbands() or "transparency" in source.info
        image = source
        if image.mode not in REDUCIBLE_MODES:
            # A palette averaged index by index would be noise: its colours first.
            image = image.convert("RGBA" if alpha else "RGB")
        image.load()
        # `reduce` (averages of whole blocks) rather than a resampling filter at full size,
        # which would hold a second full-width copy; the last step is made on the small one.
        factor = math.ceil(max(image.width / box[0], image.height / box[1]))
        if factor > 1:
            image = image.reduce(factor)
        image = image.convert("RGBA" if alpha else "RGB")
    if orientation:
        image.getexif()[ORIENTATION] = orientation
        image = ImageOps.exif_transpose(image)
    image.info = {}  # no EXIF, XMP, comments or profile is written back
    return image, uploaded_format


def image_encode(image: Image.Image, *, uploaded_format: str) -> tuple[bytes, str]:
    """`image` (from `image_load_bounded`) encoded for storage; returns (bytes, extension)."""
    stored_format = STORED_FORMAT.get(uploaded_format, "PNG")
    if stored_format == "JPEG" and image.mode == "RGBA":
        stored_format = "PNG"
    buffer = BytesIO()
    if stored_format == "JPEG":
        image.save(buffer, format="JPEG", quality=90, optimize=True)
    elif stored_format == "WEBP":
        image.save(buffer, format="WEBP", quality=90, method=4)
    else:
        image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue(), STORED_EXTENSION[stored_format]
