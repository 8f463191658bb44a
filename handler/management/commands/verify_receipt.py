"""``manage.py verify_receipt FILE``: verify a proof record (JSON, as ``GET /job_status`` returns it).

    python manage.py verify_receipt record.json [--public-key 0x…] [--image-id 0x…] [--selector 0x…] [--pairing]

Recomputes the claim digest from image id and journal, checks the image id, the
seal and selector, the embedded receipt (Groth16) or the Ed25519 signature
against the published key (attested), decodes the journal and prints it as JSON.
``FILE`` may be a proof record, or an object holding one under ``proof``/``record``.
``-`` reads standard input.

Exit status 1 with one line on stderr naming the failed check; 2 for unusable
input (unreadable file, not JSON, bad option).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from handler.proofs.errors import ProofConfigurationError, ProofVerificationError
from handler.proofs.providers.factory import _hex_bytes
from handler.proofs.records import ProofRecord
from handler.proofs.verify import verify_record


def _fail(status: int, line: str) -> None:
    sys.stderr.write("verify_receipt: " + line.replace("\n", " ") + "\n")
    sys.stderr.flush()
    raise SystemExit(status)


class Command(BaseCommand):
    help = "Verify a proof record JSON file; prints the decoded journal, exits 1 naming the failed check."

    def add_arguments(self, parser):
        parser.add_argument("file", help="proof record JSON ('-' for stdin)")
        parser.add_argument("--public-key", help="Ed25519 public key (hex) for attested records; default: this deployment's")
        parser.add_argument("--image-id", help="expected image id (hex) for Groth16 records; default: BONSAI_IMAGE_ID")
        parser.add_argument("--selector", help="expected Groth16 selector (hex); default: BONSAI_SELECTOR")
        parser.add_argument("--pairing", action="store_true", help="also run the Groth16 pairing check with garaga")

    def handle(self, *args, **options):
        try:
            text = sys.stdin.read() if options["file"] == "-" else Path(options["file"]).read_text(encoding="utf-8")
        except OSError as exc:
            _fail(2, f"input: cannot read {options['file']}: {exc.strerror or exc}")
        try:
            data = json.loads(text)
        except ValueError as exc:
            _fail(2, f"input: not JSON: {exc}")
        if isinstance(data, dict):
            for key in ("proof", "record"):
                if isinstance(data.get(key), dict) and "kind" in data[key]:
                    data = data[key]
                    break
        kind = data.get("kind") if isinstance(data, dict) else None
        try:
            public_key = self._public_key(options, kind)
            image_id = _hex_bytes(options["image_id"] or getattr(settings, "BONSAI_IMAGE_ID", ""), "image id", 32)
            selector = _hex_bytes(options["selector"] or getattr(settings, "BONSAI_SELECTOR", ""), "selector", 4)
        except (ProofConfigurationError, ValueError) as exc:
            _fail(2, f"options: {exc}")
        try:
            journal = verify_record(
                data,
                public_key,
                expected_image_id=image_id if kind == "groth16" else None,
                expected_selector=selector if kind == "groth16" else None,
                pairing=options["pairing"],
            )
        except ProofVerificationError as exc:
            _fail(1, f"FAILED {exc}")
        record = ProofRecord.from_json(data)
        out = {
            "ok": True,
            "kind": record.kind,
            "image_id": "0x" + record.image_id.hex(),
            "claim_digest": "0x" + record.claim_digest.hex(),
            "zero_knowledge": record.is_zero_knowledge,
            "journal": journal.to_json(),
        }
        if record.kind == "dev":
            out["warning"] = "dev record: proves nothing"
        self.stdout.write(json.dumps(out, indent=2))

    def _public_key(self, options, kind) -> bytes | None:
        if options["public_key"]:
            key = _hex_bytes(options["public_key"], "public key", 32)
            return key
        if kind != "attested":
            return None
        from handler.proofs.django_glue import get_public_key

        return get_public_key()
