from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from loyalty.members.models import Member
from loyalty.platforms.shopify.embedded import embedded_admin


@embedded_admin
def home(request: HttpRequest) -> HttpResponse:
    shop = request.shop
    if request.headers.get("Authorization"):  # an App Bridge fetch: JSON, not a page
        return JsonResponse(
            {"shop": shop.domain, "members": Member.objects.filter(shop=shop).count()}
        )
    return render(
        request,
        "merchant_admin/home.html",
        {
            "shop": shop,
            "program": shop.program,
            "members": Member.objects.filter(shop=shop).count(),
            "api_key": settings.SHOPIFY_API_KEY,
        },
    )
