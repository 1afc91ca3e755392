from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from loyalty.core.errors import error_response


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return error_response(
            code="database_unavailable", message="The database does not answer.", status=503
        )
    return JsonResponse({"status": "ok"})
