from __future__ import annotations

import time

import pytest
from fake_bonsai import FakeBonsai, FakeBonsaiServer
from proofs_support import DO_NOTHING_CLAIM, DO_NOTHING_IMAGE_ID

from handler.proofs.errors import BonsaiHttpError, BonsaiSessionFailed, ProofDeadlineExceeded, ReceiptRejected
from handler.proofs.providers.bonsai_client import BonsaiClient

ELF = b"\x7fELF fake guest"
V5_SELECTOR = bytes.fromhex("c27d1bc0")


@pytest.fixture
def bonsai(do_nothing_receipt):
    with FakeBonsaiServer(FakeBonsai(receipt_bytes=do_nothing_receipt)) as state:
        yield state


def make_client(state: FakeBonsai, **kw) -> BonsaiClient:
    opts = {"request_timeout": 5.0, "max_retries": 3, "backoff_base": 0.01, "backoff_max": 0.05}
    opts.update(kw)
    return BonsaiClient(state.api_url + "/", state.api_key, "2.3.2", **opts)


def prove(client: BonsaiClient, image_id: bytes = DO_NOTHING_IMAGE_ID, budget: float = 10.0, **kw):
    return client.prove_groth16(
        image_id=image_id,
        input_bytes=b"\x01\0\0\0",
        deadline=time.monotonic() + budget,
        poll_interval=0.01,
        elf=ELF,
        expected_selector=V5_SELECTOR,
        **kw,
    )


def test_full_flow_parses_real_receipt_and_keeps_key_off_other_hosts(bonsai):
    result = prove(make_client(bonsai))
    assert result.receipt_bytes == bonsai.receipt_bytes
    assert result.receipt.claim_digest() == DO_NOTHING_CLAIM
    assert result.receipt.encoded_seal[:4] == V5_SELECTOR
    assert result.stats["segments"] == 2 and result.stats["session_id"] == result.session_id
    # uploads happened on the storage host and carried no API key
    assert bonsai.images[DO_NOTHING_IMAGE_ID.hex()] == ELF
    assert list(bonsai.inputs.values()) == [b"\x01\0\0\0"]
    storage_calls = [s for s in bonsai.seen if s.server == "storage"]
    assert {s.method for s in storage_calls} == {"PUT", "GET"}
    for s in storage_calls:
        assert "x-api-key" not in s.headers and "x-risc0-version" not in s.headers
        assert s.headers["host"].startswith("localhost:")
    api_calls = [s for s in bonsai.seen if s.server == "api"]
    assert api_calls and all(s.headers.get("x-api-key") == "test-key" for s in api_calls)
    assert all(s.headers.get("x-risc0-version") == "2.3.2" for s in api_calls)
    create = bonsai.calls("POST", "sessions/create")[0]
    import json

    assert json.loads(create.body) == {
        "img": DO_NOTHING_IMAGE_ID.hex(),
        "input": next(iter(bonsai.inputs)),
        "assumptions": [],
        "execute_only": False,
        "exec_cycle_limit": None,
    }


def test_existing_image_is_not_uploaded_again(bonsai):
    bonsai.images[DO_NOTHING_IMAGE_ID.hex()] = b"already"
    prove(make_client(bonsai))
    assert bonsai.images[DO_NOTHING_IMAGE_ID.hex()] == b"already"
    assert not bonsai.calls("PUT", "images", server="storage")


def test_5xx_then_success_is_retried(bonsai):
    bonsai.faults[("POST", "sessions/create")] = [
        (502, "bad gateway"),
        (500, {"type": "InternalErr", "msg": "internal error"}),
    ]
    bonsai.faults[("GET", "storage")] = [(503, "slow down")]
    result = prove(make_client(bonsai))
    assert result.receipt.claim_digest() == DO_NOTHING_CLAIM
    assert len(bonsai.calls("POST", "sessions/create")) == 3
    assert len(bonsai.sessions) == 1


def test_concurrency_limit_is_retried(bonsai):
    bonsai.faults[("POST", "sessions/create")] = [
        (400, {"type": "SessionCreateErr", "msg": "concurrent proof limit reached"})
    ]
    prove(make_client(bonsai))
    assert len(bonsai.calls("POST", "sessions/create")) == 2


def test_persistent_5xx_gives_retryable_error_after_bounded_attempts(bonsai):
    bonsai.faults[("GET", "inputs/upload")] = [(503, "down")] * 10
    with pytest.raises(BonsaiHttpError) as ei:
        prove(make_client(bonsai, max_retries=2))
    assert ei.value.status == 503 and ei.value.retryable
    assert len(bonsai.calls("GET", "inputs/upload")) == 3


def test_other_4xx_is_not_retried(bonsai):
    client = BonsaiClient(bonsai.api_url, "wrong-key", "2.3.2", backoff_base=0.01)
    with pytest.raises(BonsaiHttpError) as ei:
        prove(client)
    assert ei.value.status == 401 and not ei.value.retryable
    assert "401" in str(ei.value)
    assert len(bonsai.calls("GET", "images/upload")) == 1


@pytest.mark.parametrize(
    "status,msg", [("FAILED", "guest panicked: index out of bounds"), ("TIMED_OUT", "session exceeded 3600s")]
)
def test_session_failure_carries_status_and_message(bonsai, status, msg):
    bonsai.session_script = [{"status": "RUNNING"}, {"status": status, "error_msg": msg}]
    with pytest.raises(BonsaiSessionFailed) as ei:
        prove(make_client(bonsai))
    assert ei.value.status == status and ei.value.error_msg == msg
    assert msg in str(ei.value) and status in str(ei.value)
    assert not ei.value.retryable
    assert not bonsai.calls("POST", "snark/create")


def test_snark_failure(bonsai):
    bonsai.snark_script = [{"status": "FAILED", "error_msg": "stark2snark failed"}]
    with pytest.raises(BonsaiSessionFailed, match="snark .* ended FAILED: stark2snark failed"):
        prove(make_client(bonsai))


def test_unknown_status_is_terminal(bonsai):
    bonsai.session_script = [{"status": "INTERNAL_ERROR", "error_msg": None}]
    with pytest.raises(BonsaiSessionFailed, match="INTERNAL_ERROR"):
        prove(make_client(bonsai))


def test_receipt_404(bonsai):
    client = make_client(bonsai)
    with pytest.raises(BonsaiHttpError) as ei:
        client.receipt_url("no-such-session")
    assert ei.value.status == 404 and not ei.value.retryable
    assert len(bonsai.calls("GET", "receipts/no-such-session")) == 1
    # the download of the SNARK output is status-checked too
    bonsai.faults[("GET", "storage")] = [(404, {"type": "ReceiptMissing", "msg": "gone"})]
    with pytest.raises(BonsaiHttpError) as ei:
        prove(client)
    assert ei.value.status == 404


def test_malformed_json(bonsai):
    bonsai.faults[("POST", "sessions/create")] = [(200, "{not json")]
    with pytest.raises(BonsaiHttpError, match="malformed JSON"):
        prove(make_client(bonsai))
    bonsai.faults[("GET", "inputs/upload")] = [(200, {"url": "http://x"})]
    with pytest.raises(BonsaiHttpError, match="without url, uuid"):
        prove(make_client(bonsai))


def test_receipt_for_another_image_id_is_rejected(bonsai):
    other = bytes.fromhex("11" * 32)
    with pytest.raises(ReceiptRejected, match="image id"):
        prove(make_client(bonsai), image_id=other)


def test_wrong_selector_and_garbage_receipt_rejected(bonsai):
    client = make_client(bonsai)
    with pytest.raises(ReceiptRejected, match="selector"):
        client.prove_groth16(
            image_id=DO_NOTHING_IMAGE_ID,
            input_bytes=b"",
            deadline=time.monotonic() + 10,
            poll_interval=0.01,
            elf=ELF,
            expected_selector=bytes.fromhex("bb001d44"),
        )
    bonsai.receipt_bytes = b"\x01\0\0\0" + bonsai.receipt_bytes[4:]
    with pytest.raises(ReceiptRejected, match="Succinct"):
        prove(client)


def test_deadline_stops_session_and_is_retryable(bonsai):
    bonsai.session_script = [{"status": "RUNNING", "state": "ProveSegments: 1/40"}]
    client = make_client(bonsai)
    t0 = time.monotonic()
    deadline = t0 + 0.5
    with pytest.raises(ProofDeadlineExceeded) as ei:
        client.prove_groth16(
            image_id=DO_NOTHING_IMAGE_ID,
            input_bytes=b"",
            deadline=deadline,
            poll_interval=0.02,
            elf=ELF,
            stop_margin=0.1,
        )
    assert time.monotonic() < deadline + 0.05  # stopped (and raised) by the deadline
    assert ei.value.retryable
    assert bonsai.stopped == list(bonsai.sessions)
    assert len(bonsai.calls("GET", "sessions/status")) >= 3
    assert not bonsai.calls("POST", "snark/create")


def test_deadline_without_stop_route_still_raises(bonsai):
    bonsai.stop_supported = False  # Bento
    bonsai.session_script = [{"status": "RUNNING"}]
    with pytest.raises(ProofDeadlineExceeded):
        prove(make_client(bonsai), budget=0.3)
    assert len(bonsai.calls("GET", "sessions/stop")) == 1


def test_deadline_bounds_retries(bonsai):
    bonsai.faults[("GET", "inputs/upload")] = [(503, "down")] * 50
    client = make_client(bonsai, max_retries=50, backoff_base=0.05, backoff_max=0.05)
    t0 = time.monotonic()
    with pytest.raises((BonsaiHttpError, ProofDeadlineExceeded)) as ei:
        prove(client, budget=0.4)
    assert time.monotonic() - t0 < 0.6
    assert ei.value.retryable


def test_connection_refused_is_retryable():
    client = BonsaiClient("http://127.0.0.1:9", "k", "2.3.2", max_retries=1, backoff_base=0.01, request_timeout=1)
    with pytest.raises(BonsaiHttpError) as ei:
        client.upload_input(b"x")
    assert ei.value.status is None and ei.value.retryable


def test_api_key_only_on_api_origin():
    c = BonsaiClient("https://api.bonsai.xyz/", "k", "1")
    assert c.is_api_origin("https://api.bonsai.xyz:443/sessions/create")
    assert not c.is_api_origin("https://bonsai-uploads.s3.amazonaws.com/x")
    assert not c.is_api_origin("http://api.bonsai.xyz/x")
    assert not c.is_api_origin("https://api.bonsai.xyz.evil.com/x")


# ---------------------------------------------------------------- provider over the fake server

from proofs_support import test_profile  # noqa: E402

from handler.proofs.coprocessor.guests import TwapErrorBoundInput  # noqa: E402
from handler.proofs.errors import ProofVerificationError  # noqa: E402
from handler.proofs.providers import build_provider  # noqa: E402
from handler.proofs.records import ProofInputs  # noqa: E402
from handler.proofs.risc0.receipt import encode_receipt, parse_receipt  # noqa: E402
from handler.proofs.verify import verify_record  # noqa: E402

JOB = ProofInputs(
    job_id="job-1",
    metric="twap",
    window_start=1_700_000_000,
    window_end=1_700_003_600,
    value=1.5e9,
    data_commitment=(1, 2, 3, 4, 5, 6, 7, 8),
    series_timestamps=(1_700_000_000,),
    series_values=(1.5e9,),
)
#: what the TWAP program reads for JOB, and commits back once it has checked it
TWAP_INPUT = TwapErrorBoundInput((1.5e9,), 1.0, 1.5e9).encode()


def bonsai_provider(state: FakeBonsai, elf_path: str | None):
    """A provider whose TWAP jobs go to the coprocessor's TWAP program, here under the do-nothing image id."""
    return build_provider(
        "bonsai",
        api_url=state.api_url,
        api_key=state.api_key,
        profile=test_profile(),
        twap_image_id=DO_NOTHING_IMAGE_ID.hex(),
        twap_elf_path=elf_path,
        risc0_version="2.3.2",
        poll_interval=0.01,
        request_timeout=5,
        selector="c27d1bc0",
        backoff_base=0.01,
        stop_margin=0.1,
    )


def _flip(d: dict, key: str) -> dict:
    raw = bytearray(bytes.fromhex(d[key][2:]))
    raw[-1] ^= 1
    return {**d, key: "0x" + raw.hex()}


def test_bonsai_provider_end_to_end(bonsai, tmp_path):
    # The fake server answers with the real receipt re-labelled with this job's journal: the
    # provider's structural checks pass, and the pairing check before storing catches it.
    bonsai.receipt_bytes = encode_receipt(parse_receipt(bonsai.receipt_bytes).with_journal(TWAP_INPUT))
    elf = tmp_path / "guest.elf"
    elf.write_bytes(ELF)
    record = bonsai_provider(bonsai, str(elf)).prove(JOB, deadline=time.monotonic() + 10)
    assert record.kind == "groth16" and record.journal == TWAP_INPUT and record.receipt == bonsai.receipt_bytes
    assert record.selector == V5_SELECTOR and len(record.seal) == 260
    assert list(bonsai.inputs.values()) == [TWAP_INPUT]
    assert bonsai.images[DO_NOTHING_IMAGE_ID.hex()] == ELF
    d = record.to_json()
    decoders = {DO_NOTHING_IMAGE_ID: TwapErrorBoundInput.decode}
    with pytest.raises(ProofVerificationError) as ei:
        verify_record(
            d, expected_image_id=DO_NOTHING_IMAGE_ID, expected_selector=V5_SELECTOR, journal_decoders=decoders
        )
    assert ei.value.check == "pairing"
    for key, check in (("journal", "claim digest"), ("seal", "receipt"), ("receipt", "receipt")):
        with pytest.raises(ProofVerificationError) as ei:
            verify_record(_flip(d, key), expected_image_id=DO_NOTHING_IMAGE_ID, journal_decoders=decoders)
        assert ei.value.check == check, key
    with pytest.raises(ProofVerificationError) as ei:
        verify_record(d, expected_image_id=bytes(32))
    assert ei.value.check == "image id"
    with pytest.raises(ProofVerificationError) as ei:
        verify_record(d, require_image_id=True)
    assert ei.value.check == "image id"


def test_real_receipt_through_the_client_verifies(bonsai):
    result = prove(make_client(bonsai))
    rc = result.receipt
    d = {
        "kind": "groth16",
        "image_id": "0x" + DO_NOTHING_IMAGE_ID.hex(),
        "journal": "0x" + rc.journal.hex(),
        "claim_digest": "0x" + rc.claim_digest().hex(),
        "seal": "0x" + rc.encoded_seal.hex(),
        "selector": "0x" + rc.selector.hex(),
        "receipt": "0x" + result.receipt_bytes.hex(),
    }
    assert (
        verify_record(d, expected_image_id=DO_NOTHING_IMAGE_ID, expected_selector=V5_SELECTOR, journal_required=False)
        is None
    )
    with pytest.raises(ProofVerificationError) as ei:
        verify_record(d, expected_image_id=DO_NOTHING_IMAGE_ID)
    assert ei.value.check == "journal"  # a valid proof, but not of a journal this service produces


def test_bonsai_provider_rejects_receipt_of_another_job(bonsai):
    bonsai.images[DO_NOTHING_IMAGE_ID.hex()] = b"uploaded earlier"  # 204: no ELF needed
    with pytest.raises(ReceiptRejected, match="journal"):
        bonsai_provider(bonsai, None).prove(JOB, deadline=time.monotonic() + 10)


def test_bonsai_provider_needs_elf_when_image_missing(bonsai):
    from handler.proofs.errors import ProofConfigurationError

    with pytest.raises(ProofConfigurationError, match="no ELF is configured"):
        bonsai_provider(bonsai, None).prove(JOB, deadline=time.monotonic() + 10)
