from fossil.commands import FossilCommand
from offchain.services import api_key_revoke


class Command(FossilCommand):
    help = "Revoke an API key by its prefix (the 8 hex digits after fsl_)."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix, **options):
        key = api_key_revoke(prefix=prefix)  # a refusal (unknown prefix): exit 2 (FossilCommand)
        assert key.revoked_at is not None  # api_key_revoke sets it
        self.stdout.write(f"revoked {key.name} ({key.prefix}) at {key.revoked_at.isoformat()}")
