"""What goes to Starknet (docs/proofs.md).

* ``vault_result(...)``: the vault's 9-felt ``VerifierData``: reserve-price start, end,
  value; TWAP start, end, value; max-return start, end, value. Values are
  UFixedPoint123x128 felts.
* ``job_request(vault_address, timestamp, program_id)``: ``[vault_address, timestamp, program_id]``.
* ``garaga_calldata(record)``: garaga's ``verify_r0_groth16_proof_bn254`` calldata for a
  Groth16 record, ``[len(rest)] + rest``. garaga is an optional extra
  (``pip install garaga==1.1.0 --no-deps 'fastecdsa<4'``; its other dependencies,
  notably the sdist-only ``starknet-py-unbroken``, are not needed for calldata), so it
  is imported lazily and a clear ``StarknetCalldataUnavailable`` is raised without it.
* ``verify_proof_calldata(record, job_request)``: raw calldata of PitchLakeVerifier's
  ``verify_proof(proof, job_request)`` = ``[len(P)] + P + job_request`` where P is
  garaga's output including its own length.

Dev and attested records never get ``verify_proof`` calldata: they cannot pass the
on-chain Groth16 verifier.
"""

from __future__ import annotations

import contextlib
import io
import os
from typing import Any

from ..errors import CalldataUnsupportedVersion, ProofVerificationError, StarknetCalldataUnavailable
from ..journal import MetricJournal, f64_to_fixed_felt
from ..records import ProofRecord
from .journals import CompositionJournal

STARK_PRIME = 2**251 + 17 * 2**192 + 1
PITCH_LAKE_V1 = 0x50495443485F4C414B455F5631  # 'PITCH_LAKE_V1'
VERIFY_PROOF_SELECTOR = 0x821B8B00FD9E4B2B57538B4571C0227E80F5DBDBFEF0628722B3F06F3188
GARAGA_INSTALL = "pip install garaga==1.1.0 --no-deps 'fastecdsa<4'"


def short_string(s: str) -> int:
    """Cairo short string (≤ 31 ASCII chars) as a felt."""
    b = s.encode("ascii")
    if len(b) > 31:
        raise ValueError("a short string has at most 31 characters")
    return int.from_bytes(b, "big")


def to_felt(v: int | str) -> int:
    if isinstance(v, str):
        v = int(v, 16) if v.lower().startswith("0x") else int(v)
    if not 0 <= v < STARK_PRIME:
        raise ValueError(f"{v} is not a felt252")
    return v


def vault_result(
    reserve_price: tuple[int, int, float], twap: tuple[int, int, float], max_return: tuple[int, int, float]
) -> list[int]:
    """Each metric is ``(window_start, window_end, value)``; values are encoded as fixed-point felts."""
    out: list[int] = []
    for start, end, value in (reserve_price, twap, max_return):
        out += [to_felt(int(start)), to_felt(int(end)), to_felt(f64_to_fixed_felt(float(value)))]
    return out


def vault_result_from_journals(journals: dict[str, MetricJournal] | CompositionJournal) -> list[int]:
    """The 9 felts from the three per-job journals (keyed by metric) or a composition journal."""
    if isinstance(journals, CompositionJournal):
        return [to_felt(v) for v in journals.verifier_data()]
    out: list[int] = []
    for metric in ("reserve_price", "twap", "max_return"):
        j = journals[metric]
        if j.metric != metric:
            raise ValueError(f"journal under {metric!r} is a {j.metric} journal")
        out += [to_felt(j.window_start), to_felt(j.window_end), to_felt(j.value_felt)]
    return out


def job_request(vault_address: int | str, timestamp: int, program_id: int | str = PITCH_LAKE_V1) -> list[int]:
    return [to_felt(vault_address), to_felt(int(timestamp)), to_felt(program_id)]


def garaga_available() -> bool:
    try:
        import garaga.starknet.groth16_contract_generator.calldata  # noqa: F401
    except ImportError:
        return False
    return True


def _vk_path() -> str:
    import garaga

    # garaga is a namespace package (no __file__); the vk ships in the wheel
    for base in list(garaga.__path__):
        p = os.path.join(base, "starknet", "groth16_contract_generator", "examples", "vk_risc0.json")
        if os.path.exists(p):
            return p
    raise StarknetCalldataUnavailable("garaga's vk_risc0.json was not found in the installed package")


#: the verifier version garaga's Starknet verifier (and so the Pitch Lake verifier) is built for
GARAGA_SELECTOR = bytes.fromhex("bb001d44")


@contextlib.contextmanager
def _quiet_stderr():
    """garaga_rs prints Rust panic messages and backtraces straight to file descriptor 2."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def garaga_calldata(record: ProofRecord | dict, *, use_rust: bool = True) -> list[int]:
    if isinstance(record, dict):
        record = ProofRecord.from_json(record)
    if record.kind != "groth16":
        raise StarknetCalldataUnavailable(
            f"a {record.kind} record is not a Groth16 proof; it can never pass the on-chain verifier"
        )
    if record.selector != GARAGA_SELECTOR:
        from ..risc0.params import BY_SELECTOR

        version = BY_SELECTOR.get(bytes(record.selector))
        name = version.name if version is not None else "unknown"
        raise CalldataUnsupportedVersion(
            f"no Starknet calldata for verifier version {name} (selector 0x{record.selector.hex()}): "
            f"the Starknet verifier accepts version V2_2 (selector 0x{GARAGA_SELECTOR.hex()}) only"
        )
    try:
        from garaga.starknet.groth16_contract_generator.calldata import groth16_calldata_from_vk_and_proof
        from garaga.starknet.groth16_contract_generator.parsing_utils import Groth16Proof, Groth16VerifyingKey
    except ImportError as exc:
        raise StarknetCalldataUnavailable(f"garaga is not installed (optional extra: {GARAGA_INSTALL})") from exc
    proof_dict = {
        "seal": "0x" + record.seal.hex(),  # selector + 256 bytes; garaga drops the first 4 bytes
        "image_id": "0x" + record.image_id.hex(),
        "journal": "0x" + record.journal.hex(),
    }
    try:
        with contextlib.redirect_stdout(io.StringIO()), _quiet_stderr():  # garaga prints the proof it parses
            vk = Groth16VerifyingKey.from_json(_vk_path())
            proof = Groth16Proof.from_dict(proof_dict)
            calldata = groth16_calldata_from_vk_and_proof(vk, proof, use_rust=use_rust)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - garaga_rs panics surface as pyo3 PanicException (a BaseException)
        # Building the hints runs the Groth16 pairing check with garaga's RISC Zero constants (v2.2.2,
        # selector bb001d44): a failure means the seal does not prove ok(image_id, journal) for them.
        first_line = str(exc).splitlines()[0][:120] if str(exc) else ""
        raise ProofVerificationError(
            "pairing", f"garaga could not build calldata ({type(exc).__name__}: {first_line})"
        ) from None
    return [int(x) for x in calldata]


def groth16_pairing_check(record: ProofRecord | dict) -> None:
    """Off-chain Groth16 verification through garaga (raises ``ProofVerificationError('pairing')``).

    Only meaningful for receipts made with garaga's RISC Zero parameters (selector ``bb001d44``).
    """
    garaga_calldata(record)


def verify_proof_calldata(record: ProofRecord | dict, request: list[int]) -> list[int]:
    if len(request) != 3:
        raise ValueError("job request must be [vault_address, timestamp, program_id]")
    p = garaga_calldata(record)
    return [len(p)] + p + [to_felt(x) for x in request]


def felts_hex(felts: list[int]) -> list[str]:
    return [hex(f) for f in felts]


def proof_calldata(record: ProofRecord | dict) -> dict | None:
    """What is stored with a proof, computed once when it is stored (never on a status poll).

    ``{"calldata": [hex felts]}`` (garaga's ``verify_r0_groth16_proof_bn254`` calldata, with its
    leading length), ``{"error": {"code", "message"}}`` when it cannot be built, or None for an
    attested/dev record, which never goes to the on-chain verifier.
    """
    try:
        rec = ProofRecord.from_json(record) if isinstance(record, dict) else record
    except (ValueError, TypeError, KeyError) as exc:
        return {"error": {"code": "record_format", "message": str(exc)}}
    if rec.kind != "groth16":
        return None
    if not garaga_available():
        return {
            "error": {
                "code": StarknetCalldataUnavailable.code,
                "message": f"garaga is not installed ({GARAGA_INSTALL})",
            }
        }
    try:
        return {"calldata": felts_hex(garaga_calldata(rec))}
    except (ProofVerificationError, StarknetCalldataUnavailable) as exc:
        return {"error": {"code": exc.code, "message": str(exc)}}


def _metric_verifier_data(records: dict[str, ProofRecord]) -> list[int]:
    journals = {metric: MetricJournal.decode(rec.journal) for metric, rec in records.items()}
    return vault_result_from_journals(journals)


def job_status_starknet(
    records: dict[str, ProofRecord | dict],
    *,
    vault_address: int | str,
    timestamp: int,
    program_id: int | str = PITCH_LAKE_V1,
    calldata: dict[str, dict | None] | None = None,
    vault_result: list[str] | None = None,
) -> dict[str, Any]:
    """The ``starknet`` block of ``GET /job_status/<job_id>`` for a completed request.

    ``records`` maps metric → proof record; ``calldata`` maps metric → what ``proof_calldata``
    stored with that proof. Nothing here runs garaga: a proof whose calldata could not be built
    (or was stored before calldata was kept) is reported under ``verify_proof_calldata`` as
    ``{"error": {"code", "message"}}``. Felts are hex strings.
    """
    recs = {m: ProofRecord.from_json(r) if isinstance(r, dict) else r for m, r in records.items()}
    request = job_request(vault_address, timestamp, program_id)
    verifier_data: list[str] | None
    try:
        verifier_data = felts_hex(_metric_verifier_data(recs))
    except Exception:  # noqa: BLE001 - a journal in another format: fall back to the group's vault result
        verifier_data = [hex(int(f, 16)) for f in vault_result] if vault_result else None
    out: dict[str, Any] = {
        "verifier_data": verifier_data,
        "job_request": felts_hex(request),
        "verify_proof_selector": hex(VERIFY_PROOF_SELECTOR),
        "verify_proof_calldata": None,
        "note": None,
    }
    kinds = {r.kind for r in recs.values()}
    if kinds != {"groth16"}:
        out["note"] = (
            f"proof kinds {sorted(kinds)}: no verify_proof calldata; only Groth16 receipts can pass the "
            "on-chain verifier (attested/dev results are delivered by a trusted caller, not verified on-chain)"
        )
        return out
    per_metric: dict[str, Any] = {}
    for metric in recs:
        stored = (calldata or {}).get(metric)
        if not stored:
            per_metric[metric] = {
                "error": {"code": "calldata_not_computed", "message": "no calldata was stored with this proof"}
            }
        elif "error" in stored:
            per_metric[metric] = {"error": stored["error"]}
        else:
            p = [int(x, 16) for x in stored["calldata"]]
            per_metric[metric] = felts_hex([len(p)] + p + request)
    out["verify_proof_calldata"] = per_metric
    return out
