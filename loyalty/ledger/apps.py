from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "loyalty.ledger"
    label = "ledger"
