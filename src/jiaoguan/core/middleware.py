"""Pages: a DomainError escaping a view becomes a page with its Chinese/English message and status, not a 500."""
from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.shortcuts import render

from jiaoguan.core.errors import DomainError


class DomainErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if request.path.startswith("/api/"):
            return None  # the API maps errors itself (core.api_errors)
        if isinstance(exception, RequestDataTooBig):
            exception = DomainError("core.body_too_large", "提交的内容过大", "The request body is too large", status=413)
        if isinstance(exception, DomainError):
            return render(request, "core/error.html", {"error": exception}, status=exception.status)
        return None
