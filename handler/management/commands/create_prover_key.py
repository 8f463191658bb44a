"""``manage.py create_prover_key PATH``: write a new Ed25519 signing key (mode 0600, directory 0700).

    python manage.py create_prover_key /secrets/fossil/prover_ed25519.pem [--if-missing]

The only way a key comes into being (nothing creates one implicitly). Give the file, or its
content as PROVER_PRIVATE_KEY, to every proof machine. Refuses to overwrite an existing key
(exit 2, like every refused request: docs/operations.md) unless ``--if-missing``, which keeps it
and prints its id (what ``make run`` uses). Prints the key id on stdout.
"""

from __future__ import annotations

from fossil.commands import FossilCommand
from handler.proofs.errors import ProofConfigurationError
from handler.proofs.keys import create_private_key_file, key_id, public_key_bytes


class Command(FossilCommand):
    help = "Create a new Ed25519 prover key file (0600 in a 0700 directory); prints its key id."

    def add_arguments(self, parser):
        parser.add_argument("path", help="where to write the PEM private key")
        parser.add_argument("--if-missing", action="store_true", help="keep an existing key instead of failing")

    def handle(self, *args, **options):
        try:
            key, created = create_private_key_file(options["path"])
        except (ProofConfigurationError, OSError) as exc:
            self.fail(str(exc))
        if not created and not options["if_missing"]:
            self.fail(f"{options['path']} already holds a key; not overwritten")
        self.stdout.write(key_id(public_key_bytes(key)))
