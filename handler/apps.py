from django.apps import AppConfig


class HandlerConfig(AppConfig):
    name = "handler"
    verbose_name = "Message handler and block data"
