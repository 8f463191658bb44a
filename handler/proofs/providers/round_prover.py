"""A vault round through Bonsai / Bento: seven sub-proofs, the composition over them, its Groth16 proof.

``RoundProver.prove(inputs, deadline=...)`` (docs/proofs.md, "The vault pipeline"):

1. the programs' checks run on the inputs first (``coprocessor.checks.precheck_round``): a round
   that a program would refuse fails here, naming the program and the field, before any session;
2. every image is uploaded (or already known to the server);
3. the seven sub-programs run as independent sessions in parallel, each with its own time limit
   and bounded retries; each session's receipt must be of its program and commit exactly the
   journal the composition rebuilds, else the round fails naming that program;
4. the receipts are uploaded back and the composition session names them as assumptions;
5. its Groth16 conversion (snark) is downloaded; its image id, claim and journal are checked here
   against the composition's expected journal; the pairing is checked before the record is stored
   (``django_glue.verify_before_store``).

A failure that a retry cannot fix raises ``ProgramCheckFailed`` (code ``program_failed``, the
program in ``program``); an unavailable server or a time limit stays retryable.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from handler.pricing.vault import VaultShape

from ..coprocessor.checks import first_failure, precheck_round, run_program
from ..coprocessor.guests import MaxReturnInput, MaxReturnJournal, TwapErrorBoundInput
from ..coprocessor.inputs import (
    COMPOSITION,
    MAX_RETURN,
    PROGRAMS,
    SUB_PROGRAMS,
    TWAP,
    RoundInputs,
    composition_expectations,
)
from ..errors import (
    BonsaiSessionFailed,
    ProgramCheckFailed,
    ProofConfigurationError,
    ProofError,
    ReceiptRejected,
)
from ..records import ProofInputs, ProofRecord
from ..risc0.receipt import check_groth16_receipt, parse_receipt, parse_succinct_receipt, receipt_claim_journal
from .bonsai_client import BonsaiClient


@dataclass(frozen=True)
class ProgramSet:
    """The eight programs of one profile: the shape they prove and each one's image id (and ELF)."""

    shape: VaultShape
    image_ids: dict[str, bytes]
    elf_paths: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [p for p in PROGRAMS if len(self.image_ids.get(p, b"")) != 32]
        if missing:
            raise ProofConfigurationError(
                f"profile {self.shape.name}: no 32-byte image id for {', '.join(missing)}; "
                "Bonsai mode needs every program of the profile"
            )

    def elf(self, program: str) -> bytes | None:
        path = self.elf_paths.get(program)
        if not path:
            return None
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise ProofConfigurationError(f"cannot read the ELF of {program} ({path}): {exc.strerror}") from exc

    def program_of(self, image_id: bytes) -> str | None:
        for name, known in self.image_ids.items():
            if known == image_id:
                return name
        return None


@dataclass
class RoundProof:
    record: ProofRecord
    journal: bytes
    sessions: dict[str, str]


class RoundProver:
    def __init__(
        self,
        client: BonsaiClient,
        programs: ProgramSet,
        *,
        poll_interval: float = 5.0,
        session_time_limit: float = 1800.0,
        session_attempts: int = 2,
        expected_selector: bytes | None = None,
    ) -> None:
        self.client = client
        self.programs = programs
        self.poll_interval = poll_interval
        self.session_time_limit = session_time_limit
        self.session_attempts = max(1, int(session_attempts))
        self.expected_selector = expected_selector

    # ------------------------------------------------------------ one session

    def _session(self, program: str, input_bytes: bytes, deadline: float, assumptions: list[str] | None = None):
        image_hex = self.programs.image_ids[program].hex()
        last: ProofError | None = None
        for _attempt in range(self.session_attempts):
            limit = min(deadline, time.monotonic() + self.session_time_limit)
            try:
                input_id = self.client.upload_input(input_bytes, deadline=limit)
                session_id = self.client.create_session(image_hex, input_id, assumptions=assumptions, deadline=limit)
                self.client.wait_session(session_id, deadline=limit, poll_interval=self.poll_interval)
                return session_id
            except BonsaiSessionFailed as exc:
                raise ProgramCheckFailed(
                    program, "session", f"the prover's session failed: {exc.error_msg or exc.status}"
                ) from exc
            except ProofError as exc:
                if not exc.retryable or time.monotonic() >= deadline:
                    raise
                last = exc
        assert last is not None
        raise last

    def _sub_receipt(self, program: str, input_bytes: bytes, expected_journal: bytes, deadline: float) -> str:
        """Prove one sub-program; return the receipt id the composition session names."""
        session_id = self._session(program, input_bytes, deadline)
        raw = self.client.download(self.client.receipt_url(session_id, deadline=deadline), deadline=deadline)
        try:
            receipt = parse_succinct_receipt(raw)
        except ReceiptRejected as exc:
            raise ProgramCheckFailed(program, "receipt", str(exc)) from exc
        if receipt.image_id is not None and receipt.image_id != self.programs.image_ids[program]:
            raise ProgramCheckFailed(program, "receipt", f"the receipt is of image 0x{receipt.image_id.hex()}")
        claimed = receipt_claim_journal(receipt.claim)
        if receipt.journal != expected_journal or (claimed is not None and claimed != receipt.journal):
            raise ProgramCheckFailed(
                program, "journal", "the receipt's journal is not the one the composition rebuilds from its input"
            )
        return self.client.upload_receipt(raw, deadline=deadline)

    # ------------------------------------------------------------ the round

    def _elf_of(self, program: str):
        """Read only if the server asks for the image."""
        return lambda: self.programs.elf(program)

    def prove_job(self, inputs: ProofInputs, *, deadline: float) -> ProofRecord:
        """A vault round's TWAP or max-return job: a Groth16 proof of its own program on the inputs the
        composition also reads (so the value it commits is the one the composition commits)."""
        values = tuple(float(v) for v in inputs.series_values)
        struct: TwapErrorBoundInput | MaxReturnInput
        if inputs.metric == "twap":
            program = TWAP
            struct = TwapErrorBoundInput(values, float(self.programs.shape.tolerances["twap_tolerance"]), inputs.value)
            expected = struct.encode()
        elif inputs.metric == "max_return":
            program, struct = MAX_RETURN, MaxReturnInput(values)
            expected = MaxReturnJournal(values, inputs.value).encode()
        else:
            raise ProofConfigurationError("a vault round's reserve price is proved by the composition (prove)")
        journal = run_program(program, struct.encode(), self.programs.shape)
        if journal != expected:
            raise ProgramCheckFailed(program, "journal", "the program would commit another value than this job's")
        image_id = self.programs.image_ids[program]
        self.client.upload_image(image_id.hex(), self._elf_of(program), deadline=deadline)
        session_id = self._session(program, struct.encode(), deadline)
        raw, receipt, snark_id = self._groth16(program, session_id, deadline)
        if receipt.journal != expected:
            raise ProgramCheckFailed(program, "journal", "the receipt's journal is not this job's")
        stats = {"backend": "bonsai", "program": program, "job_id": inputs.job_id, "session_id": session_id}
        return ProofRecord.from_groth16_receipt(receipt, raw, image_id=image_id, stats={**stats, "snark_id": snark_id})

    def _groth16(self, program: str, session_id: str, deadline: float):
        snark_id = self.client.create_snark(session_id, deadline=deadline)
        snark = self.client.wait_snark(snark_id, deadline=deadline, poll_interval=self.poll_interval)
        url = snark.get("output")
        if not url:
            raise ProgramCheckFailed(program, "snark", "the Groth16 conversion finished without a receipt")
        raw = self.client.download(str(url), deadline=deadline)
        receipt = parse_receipt(raw)
        image_id = self.programs.image_ids[program]
        check_groth16_receipt(receipt, expected_image_id=image_id, expected_selector=self.expected_selector)
        return raw, receipt, snark_id

    def prove(self, inputs: RoundInputs, *, deadline: float, job_id: str = "") -> RoundProof:
        shape = self.programs.shape
        failure = first_failure(precheck_round(inputs, shape))
        if failure is not None:
            raise failure
        t0 = time.monotonic()
        encoded = inputs.encoded()
        expected = composition_expectations(inputs.composition, shape)
        journals = expected.journals()
        for program in PROGRAMS:
            self.client.upload_image(self.programs.image_ids[program].hex(), self._elf_of(program), deadline=deadline)
        with ThreadPoolExecutor(max_workers=len(SUB_PROGRAMS), thread_name_prefix="round-prover") as pool:
            futures = {p: pool.submit(self._sub_receipt, p, encoded[p], journals[p], deadline) for p in SUB_PROGRAMS}
            receipt_ids = {p: f.result() for p, f in futures.items()}
        session_id = self._session(COMPOSITION, encoded[COMPOSITION], deadline, list(receipt_ids.values()))
        raw, receipt, snark_id = self._groth16(COMPOSITION, session_id, deadline)
        image_id = self.programs.image_ids[COMPOSITION]
        if receipt.journal != expected.journal.encode():
            raise ProgramCheckFailed(
                COMPOSITION, "journal", "the composition receipt's journal is not this round's results"
            )
        record = ProofRecord.from_groth16_receipt(
            receipt,
            raw,
            image_id=image_id,
            stats={
                "backend": "bonsai",
                "program": COMPOSITION,
                "profile": shape.name,
                "job_id": job_id,
                "session_id": session_id,
                "snark_id": snark_id,
                "sub_receipts": receipt_ids,
                "num_paths": inputs.composition.num_paths,
                "wall_time": time.monotonic() - t0,
            },
        )
        return RoundProof(record, receipt.journal, {**receipt_ids, COMPOSITION: session_id})
