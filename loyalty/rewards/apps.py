from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "loyalty.rewards"
    label = "rewards"
