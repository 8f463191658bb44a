"""``manage.py rotate_prover_key``: make a new signing key current and retire the old one.

    python manage.py rotate_prover_key --generate /secrets/fossil/prover_ed25519.next.pem
    python manage.py rotate_prover_key --key-file NEW.pem      # a key made elsewhere
    PROVER_PRIVATE_KEY=… python manage.py rotate_prover_key --from-env

Records the new public key as current and every earlier key as retired in the key ring; retired
public keys stay published at /api/prover_key, so the records they signed keep verifying. Then
give every proof machine the new key (PROVER_KEY_FILE or PROVER_PRIVATE_KEY) and restart them: a
machine still configured with a retired key refuses to start signing. Prints the retired and the
current key ids.
"""

from __future__ import annotations

import os

from fossil.commands import FossilCommand
from handler.proofs.errors import ProofConfigurationError
from handler.proofs.keys import create_private_key_file, load_private_key_file, private_key_from_text, public_key_bytes
from handler.prover_keys import prover_key_rotate


class Command(FossilCommand):
    help = "Make a new prover key current; earlier keys are retired but stay published."

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--generate", metavar="PATH", help="create a new key file at PATH (must not exist)")
        source.add_argument("--key-file", metavar="PATH", help="an existing PEM key file")
        source.add_argument("--from-env", action="store_true", help="the key in PROVER_PRIVATE_KEY")

    def handle(self, *args, **options):
        try:
            if options["generate"]:
                key, created = create_private_key_file(options["generate"])
                if not created:
                    raise ProofConfigurationError(f"{options['generate']} already holds a key; pick a new path")
            elif options["key_file"]:
                key = load_private_key_file(options["key_file"])
            else:
                key = private_key_from_text(os.environ.get("PROVER_PRIVATE_KEY", ""))
            retired, current = prover_key_rotate(public_key_bytes(key))
        except (ProofConfigurationError, OSError) as exc:
            self.fail(str(exc))
        self.stdout.write(f"current {current.key_id}; retired {', '.join(retired) if retired else 'none'}")
        self.stdout.write(
            "now give every proof machine this key (PROVER_KEY_FILE or PROVER_PRIVATE_KEY) and restart it"
        )
