from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "loyalty.members"
    label = "members"
