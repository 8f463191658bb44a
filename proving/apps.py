from django.apps import AppConfig


class ProvingConfig(AppConfig):
    name = "proving"
    verbose_name = "Proving service"
