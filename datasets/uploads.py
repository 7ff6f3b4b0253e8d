"""Dataset uploads (API and portal) are capped while the request body streams in, not after it was stored.

`DatasetUploadMiddleware` (before CsrfViewMiddleware, which may parse the body) looks at the upload URLs only:
a request whose Content-Length is already over FLOWUI_UPLOAD_MAX_MB (plus room for the multipart envelope) is
answered 413 before its body is read; otherwise it installs `CappedUploadHandler`, which counts the file bytes as
they arrive and stops the parsing at the first byte over the limit (the partial file is dropped, the request
marked, and the view answers 413).
"""

from __future__ import annotations

from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import HttpResponse, JsonResponse

from datasets.services import DatasetTooLarge, upload_max_bytes

ENVELOPE_BYTES = 64 * 1024  # multipart boundaries, part headers and the form's other fields
UPLOAD_PATHS = ("/api/datasets/", "/data/upload/")
TOO_LARGE_FLAG = "dataset_upload_too_large"


class CappedUploadHandler(TemporaryFileUploadHandler):
    def __init__(self, request=None, *, max_bytes: int | None = None):
        super().__init__(request)
        self.max_bytes = upload_max_bytes() if max_bytes is None else max_bytes
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)  # all files of the request together
        if self.received > self.max_bytes:
            if getattr(self, "file", None) is not None:
                self.file.close()  # a temporary upload file is deleted when closed
            if self.request is not None:
                setattr(self.request, TOO_LARGE_FLAG, True)
            raise StopUpload(connection_reset=True)  # the rest of the body is not read
        return super().receive_data_chunk(raw_data, start)


def upload_too_large(request) -> bool:
    """True when the request's upload was cut at the size limit (works on DRF requests too)."""
    return bool(getattr(request, TOO_LARGE_FLAG, False))


class DatasetUploadMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path in UPLOAD_PATHS:
            limit = upload_max_bytes()
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit + ENVELOPE_BYTES:
                message = str(DatasetTooLarge(limit))
                if request.path.startswith("/api/"):
                    return JsonResponse({"error": "too_large", "detail": message}, status=413)
                return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
            request.upload_handlers = [CappedUploadHandler(request, max_bytes=limit)]
        return self.get_response(request)
