"""The bare view `make bench` compares webhook intake against (routed only with BENCH_VIEWS).

It goes through the same middleware and the same kind of decorators as the webhook view and
answers the same small JSON, but touches no database, broker or body: what is left is Django's
own per-request overhead on this server.
"""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods


@csrf_exempt
@require_http_methods(["GET", "POST"])
def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "received"})
