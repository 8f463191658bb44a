"""``manage.py revoke_prover_key KEY_ID --reason "..."``: a compromised key verifies nothing more.

Every record that key signed fails verification from now on, naming the revocation and its
reason (``verify_receipt``, the store check); /api/prover_key lists the key as revoked. Revoking
the current key leaves no current key: rotate to a new one (rotate_prover_key) before proof
machines can sign again. Exit status 2 with one line on stderr for an unknown key or no reason.
"""

from __future__ import annotations

from fossil.commands import FossilCommand
from handler.proofs.errors import ProofConfigurationError
from handler.prover_keys import prover_key_revoke


class Command(FossilCommand):
    help = "Revoke a prover key (compromise): every record it signed fails verification."

    def add_arguments(self, parser):
        parser.add_argument("key_id", help="the key's id, as /api/prover_key lists it")
        parser.add_argument("--reason", required=True, help="why (shown with every failed verification)")

    def handle(self, *args, key_id: str, reason: str, **options):
        try:
            key = prover_key_revoke(key_id, reason=reason)
        except ProofConfigurationError as exc:
            self.fail(str(exc))
        revoked_at = key.revoked_at.isoformat() if key.revoked_at else "?"
        self.stdout.write(f"revoked {key.key_id} at {revoked_at}: {key.revoked_reason}")
        if not type(key).objects.filter(is_current=True).exists():
            self.stdout.write(
                "no key is current now: rotate to a new one (manage.py rotate_prover_key --generate PATH)"
            )
