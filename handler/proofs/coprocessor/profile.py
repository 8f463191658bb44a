"""The coprocessor profile: the round shape its programs prove and each program's image id and ELF.

``COPROCESSOR_PROFILE`` is empty (the programs at the coprocessor's latest commit: 1,440 hours,
pricing on the last 720, no image ids known here) or the path of a JSON manifest::

    {"name": "poc",
     "shape": {"total_hours": 1440, "pricing_hours": 720, "n_periods": 720},
     "programs": {"hashing-felts": {"image_id": "0x…", "elf": "/path/hashing-felts.bin"}, …},
     "verifier_journal": "composition"}

A rebuilt set of programs (5,760 / 2,160 hours, new image ids) is a new manifest. Bonsai mode
needs every one of the eight programs (``providers.round_prover.ProgramSet``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from handler.pricing.errors import InvalidParameters
from handler.pricing.vault import POC_SHAPE, VaultShape

from ..errors import ProofConfigurationError
from .inputs import PROGRAMS
from .verifier import VERIFIER_JOURNALS

_SHAPE_FIELDS = {f.name for f in dataclasses.fields(VaultShape)} - {"name"}


@dataclass(frozen=True)
class Profile:
    shape: VaultShape
    image_ids: dict[str, bytes] = field(default_factory=dict)
    elf_paths: dict[str, str] = field(default_factory=dict)
    # The journal the deployed Starknet verifier decodes. At the coprocessor's latest commit its
    # verifier decodes the 10-field journal while its composition program commits 16 fields
    # (``coprocessor.verifier``), so by default no round is verifiable on-chain until a verifier
    # for the 16-field journal is deployed and the manifest says ``"verifier_journal": "composition"``.
    verifier_journal: str = "composition_v1"

    def verifier_problem(self) -> str | None:
        if self.verifier_journal == "composition":
            return None
        return (
            "the Starknet verifier this profile names decodes the 10-field journal (composition_v1), "
            "but the composition program commits the 16-field ProofCompositionOutput; deploy a verifier "
            'for that journal and set "verifier_journal": "composition" in COPROCESSOR_PROFILE'
        )


def _image_id(text, program: str) -> bytes:
    s = str(text)
    s = s[2:] if s.lower().startswith("0x") else s
    try:
        raw = bytes.fromhex(s)
    except ValueError:
        raise ProofConfigurationError(f"COPROCESSOR_PROFILE: {program}.image_id is not hex") from None
    if len(raw) != 32:
        raise ProofConfigurationError(f"COPROCESSOR_PROFILE: {program}.image_id must be 32 bytes")
    return raw


@cache
def load_profile(path: str = "") -> Profile:
    if not path:
        return Profile(POC_SHAPE)
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ProofConfigurationError(f"COPROCESSOR_PROFILE: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ProofConfigurationError(f"COPROCESSOR_PROFILE: {path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProofConfigurationError("COPROCESSOR_PROFILE: the manifest must be a JSON object")
    shape_fields = data.get("shape") or {}
    unknown = set(shape_fields) - _SHAPE_FIELDS
    if unknown:
        raise ProofConfigurationError(f"COPROCESSOR_PROFILE: unknown shape field {sorted(unknown)[0]!r}")
    try:
        shape = VaultShape(name=str(data.get("name") or "custom"), **shape_fields)
    except (InvalidParameters, TypeError) as exc:
        raise ProofConfigurationError(f"COPROCESSOR_PROFILE: {exc}") from None
    programs = data.get("programs") or {}
    unknown = set(programs) - set(PROGRAMS)
    if unknown:
        raise ProofConfigurationError(f"COPROCESSOR_PROFILE: unknown program {sorted(unknown)[0]!r}")
    image_ids = {p: _image_id(v.get("image_id"), p) for p, v in programs.items() if v.get("image_id")}
    elf_paths = {p: str(v["elf"]) for p, v in programs.items() if v.get("elf")}
    verifier_journal = str(data.get("verifier_journal") or "composition_v1")
    if verifier_journal not in VERIFIER_JOURNALS:
        raise ProofConfigurationError(
            f"COPROCESSOR_PROFILE: verifier_journal must be one of {', '.join(VERIFIER_JOURNALS)}"
        )
    return Profile(shape, image_ids, elf_paths, verifier_journal)
