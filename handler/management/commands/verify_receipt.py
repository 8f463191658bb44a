"""``manage.py verify_receipt FILE``: verify a proof (as ``GET /job_status`` returns it, or a real receipt).

    python manage.py verify_receipt record.json [--public-key 0x…] [--image-id 0x…] [--selector 0x…]
                                                [--signed-at 2026-01-31T12:00:00Z]

``FILE`` may hold a proof record (or an object holding one under ``proof``/``record``), a
``{"seal", "image_id", "journal"}`` object as risc0-ethereum and garaga write them (a 256-byte seal
without selector is tried under every known verifier version), or a bincode ``risc0_zkvm::Receipt``
with a Groth16 inner receipt. ``-`` reads standard input.

A Groth16 record must be of a program Fossil knows (its own programs and the eight of the
configured coprocessor profile, ``COPROCESSOR_PROFILE``) or of ``--image-id``; a receipt of any
other program is refused naming its image id, unless ``--allow-unknown-image`` is given, and then
the output says the image id was not pinned.

Every Groth16 seal gets the BN254 pairing check under the verifier version its selector names;
attested records are checked against the published key ring (current and retired keys, by key
id), read from the database and this machine's configured key; nothing is ever created. A key's
life counts too (handler.prover_keys): a revoked key's record fails naming the revocation's
reason, and a retired key's verifies only when ``--signed-at`` (when the record was issued, e.g.
its request's completed_at) is before the key's retired_at. Prints what was verified and the
decoded journal as JSON.

Exit status 1 with one line on stderr naming the failed check; 2 for unusable input (unreadable
file, not JSON or a receipt, bad option).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from django.db import DatabaseError

from fossil.commands import FossilCommand
from handler.proofs.errors import ProofConfigurationError, ProofError, ProofVerificationError
from handler.proofs.providers.factory import _hex_bytes
from handler.proofs.records import ProofRecord
from handler.proofs.risc0 import groth16
from handler.proofs.risc0.claim import claim_digest
from handler.proofs.risc0.receipt import parse_receipt
from handler.proofs.verify import verify_record


def _fail(status: int, line: str) -> None:
    sys.stderr.write("verify_receipt: " + line.replace("\n", " ") + "\n")
    sys.stderr.flush()
    raise SystemExit(status)


def _hex(value, name: str) -> bytes:
    if not isinstance(value, str):
        raise ProofVerificationError("record format", f"{name}: expected a hex string")
    try:
        return bytes.fromhex(value[2:] if value.lower().startswith("0x") else value)
    except ValueError:
        raise ProofVerificationError("record format", f"{name}: not hex") from None


def _record_from_receipt(raw: bytes) -> dict:
    try:
        rc = parse_receipt(raw)
    except ProofError as exc:
        raise ProofVerificationError("receipt", str(exc)) from None
    if rc.claim.is_pruned:
        raise ProofVerificationError("receipt", "the receipt's claim is pruned: no image id to check")
    return ProofRecord.from_groth16_receipt(rc, raw, image_id=rc.claim.value.image_id).to_json()


def _record_from_seal_object(data: dict) -> dict:
    """risc0-ethereum / garaga ``{seal, image_id, journal}``; a bare 256-byte seal gets its version found."""
    seal, image_id, journal = (
        _hex(data["seal"], "seal"),
        _hex(data["image_id"], "image_id"),
        _hex(data["journal"], "journal"),
    )
    if len(image_id) != 32:
        raise ProofVerificationError("record format", "image_id must be 32 bytes")
    digest = claim_digest(image_id, journal)
    if len(seal) == groth16.SEAL_LEN:
        seal = groth16.find_version(seal, digest).selector + seal
    return {
        "kind": "groth16",
        "image_id": "0x" + image_id.hex(),
        "journal": "0x" + journal.hex(),
        "claim_digest": "0x" + digest.hex(),
        "seal": "0x" + seal.hex(),
        "selector": "0x" + seal[:4].hex(),
    }


def _load(path: str):
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        _fail(2, f"input: cannot read {path}: {exc.strerror or exc}")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        if raw[:4] in (b"\x00\x00\x00\x00", b"\x01\x00\x00\x00", b"\x02\x00\x00\x00", b"\x03\x00\x00\x00"):
            return "receipt", raw
        _fail(2, f"input: not JSON and not a bincode receipt: {exc}")
    if isinstance(data, dict):
        for key in ("proof", "record"):
            if isinstance(data.get(key), dict) and "kind" in data[key]:
                return "record", data[key]
        if "kind" not in data and {"seal", "image_id", "journal"} <= data.keys():
            return "seal object", data
    return "record", data


def _instant(text: str) -> datetime:
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text), tz=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError("expected ISO 8601 (2026-01-31T12:00:00Z) or unix seconds") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _check_key_life(kid: str | None, signed_at: datetime | None) -> None:
    from handler.prover_keys import key_life_problem

    try:
        problem = key_life_problem(kid, signed_at)
    except DatabaseError:  # no database here: only this machine's key was published, and it is not retired
        return
    if problem:
        raise ProofVerificationError("key", problem)


def _published_keys() -> dict[str, bytes]:
    from handler.proofs.django_glue import configured_public_key, published_keys

    try:
        return published_keys()
    except DatabaseError:  # no database here: this machine's configured key only
        from handler.proofs.keys import key_id

        own = configured_public_key()
        return {key_id(own): own} if own is not None else {}


def _known_image_ids() -> dict[bytes, str]:
    from handler.proofs.django_glue import known_image_ids

    return known_image_ids()


class Command(FossilCommand):
    help = "Verify a proof record or a Groth16 receipt; prints the decoded journal, exits 1 naming the failed check."

    def add_arguments(self, parser):
        parser.add_argument(
            "file", help="proof record JSON, {seal, image_id, journal} JSON, or a bincode receipt ('-' for stdin)"
        )
        parser.add_argument(
            "--public-key", help="Ed25519 public key (hex) for attested records; default: the published key ring"
        )
        parser.add_argument(
            "--image-id", help="expected image id (hex) for Groth16 records; default: any program Fossil knows"
        )
        parser.add_argument(
            "--selector", help="expected Groth16 selector (hex); default: any known RISC Zero verifier version"
        )
        parser.add_argument(
            "--pairing", action="store_true", help="accepted for compatibility: the pairing check always runs"
        )
        parser.add_argument(
            "--allow-unknown-image",
            action="store_true",
            help="check a Groth16 proof of a program Fossil does not know (the output says it is not pinned)",
        )
        parser.add_argument(
            "--signed-at",
            type=_instant,
            help="when an attested record was issued (ISO 8601 or unix seconds): a retired key verifies "
            "only records issued before its retirement",
        )

    def handle(self, *args, **options):
        source, data = _load(options["file"])
        try:
            public_key = _hex_bytes(options["public_key"], "public key", 32) if options["public_key"] else None
            image_id = _hex_bytes(options["image_id"], "image id", 32)
            selector = _hex_bytes(options["selector"], "selector", 4) if options["selector"] else None
        except (ProofConfigurationError, ValueError) as exc:
            _fail(2, f"options: {exc}")
        try:
            if source == "receipt":
                data = _record_from_receipt(data)
            elif source == "seal object":
                data = _record_from_seal_object(data)
            kind = data.get("kind") if isinstance(data, dict) else None
            known = _known_image_ids()
            unpinned = kind == "groth16" and image_id is None and options["allow_unknown_image"]
            if kind == "groth16" and image_id is None and not unpinned:
                claimed = _hex(data.get("image_id"), "image_id")
                if claimed not in known:
                    _fail(
                        1,
                        f"FAILED image id: 0x{claimed.hex()} is not a program Fossil knows "
                        f"({len(known)} known: its own programs and the configured coprocessor profile); "
                        "--allow-unknown-image checks the proof alone",
                    )
            keys = _published_keys() if kind == "attested" and public_key is None else None
            journal = verify_record(
                data,
                public_key,
                public_keys=keys,
                expected_image_id=(image_id or (None if unpinned else frozenset(known))) if kind == "groth16" else None,
                expected_selector=selector if kind == "groth16" else None,
                journal_required=False,
            )
            record = ProofRecord.from_json(data)
            if record.kind == "attested" and public_key is None:
                _check_key_life(record.key_id, options["signed_at"])
        except ProofVerificationError as exc:
            _fail(1, f"FAILED {exc}")
        except (ProofError, ValueError, TypeError, KeyError, AttributeError) as exc:
            # anything else a malformed file can provoke: still one line, never a traceback
            _fail(1, f"FAILED record format: {type(exc).__name__}: {str(exc)[:200]}")
        out = {
            "ok": True,
            "kind": record.kind,
            "image_id": "0x" + record.image_id.hex(),
            "claim_digest": "0x" + record.claim_digest.hex(),
            "zero_knowledge": record.is_zero_knowledge,
            "journal": journal.to_json() if journal is not None else None,
        }
        if record.kind == "groth16":
            version = groth16.version_for_selector(record.selector)
            out["verifier"] = {"version": version.name, "selector": "0x" + version.selector.hex(), "pairing": "ok"}
            out["image_id_pinned"] = not unpinned
            out["program"] = known.get(record.image_id) if image_id is None else "the --image-id given"
            if unpinned and record.image_id not in known:
                out["warning"] = "image id not pinned: a valid proof of a program Fossil does not know"
            if journal is None:
                out["journal_hex"] = "0x" + record.journal.hex()
                out["note"] = "valid proof; the journal is in no format this service produces"
        if record.kind == "attested":
            out["key_id"] = record.key_id
        if record.kind == "dev":
            out["warning"] = "dev record: proves nothing"
        self.stdout.write(json.dumps(out, indent=2))
