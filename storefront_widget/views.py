from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from loyalty.platforms.shopify.embedded import app_proxy
from storefront_widget.state import storefront_state


@require_GET
@app_proxy
def proxy_state(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(
        storefront_state(shop=request.shop, platform_customer_id=request.platform_customer_id)
    )
    response["Cache-Control"] = "private, no-store"
    return response
