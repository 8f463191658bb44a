from fossil.commands import FossilCommand
from offchain.services import api_key_create


class Command(FossilCommand):
    help = "Create a client API key. The key is printed once; only its hash is stored."

    def add_arguments(self, parser):
        parser.add_argument("name", help="who the key is for")
        parser.add_argument("--quiet", action="store_true", help="print only the key")

    def handle(self, *args, name, quiet, **options):
        key, raw_key = api_key_create(name=name)
        if quiet:
            self.stdout.write(raw_key)
        else:
            self.stdout.write(f"API key for {key.name} (prefix {key.prefix}); store it now, it is not shown again:")
            self.stdout.write(raw_key)
