"""Refuse an oversized upload while it arrives, before any of it is stored.

Django writes an uploaded file to memory or a temporary file as it reads the request, and a
form's size check runs only afterwards: a 100 MB body was on disk before the 5 MB check said
no. `UploadLimitHandler` goes first in FILE_UPLOAD_HANDLERS: it refuses a request whose
declared length is over the limit before reading a byte, and stops at the first chunk that
takes the request's files past MAX_UPLOAD_REQUEST_BYTES, so the handlers after it (memory,
temporary file) never receive a byte beyond it. `UploadLimitMiddleware` reads multipart
bodies before the CSRF check and the view, and answers 413 with a page that says why.
Files under that limit but over MAX_UPLOAD_IMAGE_BYTES still get the form's own message.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpResponse
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string


class UploadTooLarge(Exception):
    """The request's files are over MAX_UPLOAD_REQUEST_BYTES."""


class UploadLimitHandler(FileUploadHandler):
    """Counts the bytes of every file in a request and stops at MAX_UPLOAD_REQUEST_BYTES."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.limit = settings.MAX_UPLOAD_REQUEST_BYTES
        self.received = 0
        # Room for the form's other fields, which Django bounds itself.
        if content_length > self.limit + settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise UploadTooLarge
        return None

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            raise UploadTooLarge  # this chunk goes to no handler after this one
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handlers make the file


def upload_too_large_response() -> HttpResponse:
    limit = filesizeformat(settings.MAX_UPLOAD_REQUEST_BYTES)
    image_limit = filesizeformat(settings.MAX_UPLOAD_IMAGE_BYTES)
    body = render_to_string("413.html", {"limit": limit, "image_limit": image_limit})
    return HttpResponse(body, status=413)


class UploadLimitMiddleware:
    """Reads a multipart POST before the CSRF check and the view; 413 when it is too large."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method == "POST" and request.content_type == "multipart/form-data":
            try:
                request.POST  # noqa: B018 - parsing is what is asked for
            except UploadTooLarge:
                return upload_too_large_response()
        return None
