"""The one JSON error shape of the contract: {"error": {"code": ..., "message": ...}}."""

from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def error_response(*, code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


_DRF_CODES = {
    drf_exceptions.ParseError: "bad_request",
    drf_exceptions.ValidationError: "invalid",
    drf_exceptions.AuthenticationFailed: "unauthorized",
    drf_exceptions.NotAuthenticated: "unauthorized",
    drf_exceptions.PermissionDenied: "forbidden",
    drf_exceptions.NotFound: "not_found",
    Http404: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.Throttled: "rate_limited",
}


def api_exception_handler(exc, context):
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    detail = response.data
    message = detail.get("detail", detail) if isinstance(detail, dict) else detail
    return Response(error_body(code, str(message)), status=response.status_code)
