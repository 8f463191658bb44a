from django.apps import AppConfig


class OffchainConfig(AppConfig):
    name = "offchain"
    verbose_name = "Offchain processor"
