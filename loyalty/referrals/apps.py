from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "loyalty.referrals"
    label = "referrals"
