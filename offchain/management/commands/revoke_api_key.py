import sys

from django.core.management.base import BaseCommand

from fossil.exceptions import ApplicationError
from offchain.services import api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key by its prefix (the 8 hex digits after fsl_)."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix, **options):
        try:
            key = api_key_revoke(prefix=prefix)
        except ApplicationError as exc:
            sys.stderr.write(f"revoke_api_key: {exc.message}\n")
            sys.exit(2)
        assert key.revoked_at is not None  # api_key_revoke sets it
        self.stdout.write(f"revoked {key.name} ({key.prefix}) at {key.revoked_at.isoformat()}")
