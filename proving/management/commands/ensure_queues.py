from fossil.commands import FossilCommand
from fossil.queues import ensure_queues


class Command(FossilCommand):
    help = "Create the SQS work queues with their dead-letter queues and attributes."

    def handle(self, *args, **options):
        urls = ensure_queues()
        for name, url in urls.items():
            self.stdout.write(f"{name}: {url}")
