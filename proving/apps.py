from django.apps import AppConfig


class ProvingConfig(AppConfig):
    name = "proving"
    verbose_name = "Proving service"

    def ready(self) -> None:
        from fossil.observability import register_scrape_source
        from proving.scrape_metrics import job_gauges, queue_gauges

        # Imported here, not at the top: models must not load before the app registry is ready.
        register_scrape_source("sqs", queue_gauges)
        register_scrape_source("postgres", job_gauges)
