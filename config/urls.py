from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from loyalty.core import views as core_views
from loyalty.platforms.shopify import embedded
from loyalty.platforms.shopify import views as shopify_views
from loyalty.referrals import views as referral_views
from storefront_widget import checkout, standalone
from storefront_widget import views as widget_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("shopify/install", shopify_views.install, name="shopify-install"),
    path("shopify/callback", shopify_views.callback, name="shopify-callback"),
    path("shopify/webhooks", shopify_views.webhook, name="shopify-webhooks"),
    path("shopify/proxy/api/state", widget_views.proxy_state, name="proxy-state"),
    path("shopify/proxy/api/redeem", widget_views.proxy_redeem, name="proxy-redeem"),
    path("shopify/proxy/api/earn", widget_views.proxy_earn, name="proxy-earn"),
    path("shopify/proxy/api/actions", widget_views.proxy_actions, name="proxy-actions"),
    path("shopify/proxy/r/<str:code>", referral_views.referral_landing, name="proxy-referral"),
    path("storefront/api/checkout/state", checkout.checkout_state, name="checkout-state"),
    path("storefront/api/checkout/redeem", checkout.checkout_redeem, name="checkout-redeem"),
    path("storefront/api/widget/state", standalone.widget_state, name="widget-state"),
    path("storefront/api/widget/redeem", standalone.widget_redeem, name="widget-redeem"),
    path("storefront/api/widget/actions", standalone.widget_actions, name="widget-actions"),
    path("app/session-token-bounce", embedded.session_token_bounce, name="session-token-bounce"),
    path("app/", include("loyalty.merchant_admin.urls")),
    path("api/v1/", include("loyalty.api.urls")),
    path("django-admin/", admin.site.urls),
]

if settings.BENCH_VIEWS:
    # `make bench` only (SETIA_BENCH_VIEWS=1); production never imports the benchmark package.
    from tests.benchmarks.views import bare

    urlpatterns.append(path("__bench/bare", bare, name="bench-bare"))
