"""Groth16 seal verification for RISC Zero receipts on BN254 (docs/proofs.md, "Groth16 seals").

``verify_seal(encoded_seal, claim_digest)`` checks a risc0-ethereum ``encode_seal`` (selector ‖ 256
bytes) against a claim digest and returns the verifier version it verified under, or raises
``ProofVerificationError`` naming the failed check:

* ``selector``: the selector is not a RISC Zero verifier version this service knows;
* ``seal``: wrong length, a coordinate out of range, a point off the curve or at infinity,
  B outside the prime-order subgroup of G2;
* ``pairing``: ``e(A, B) = e(alpha, beta) · e(vk_x, gamma) · e(C, delta)`` does not hold for the
  five public inputs built from the version's control root, the claim digest and the BN254
  control id.

Curve arithmetic, point validation and the reference pairing are py_ecc's; when garaga's native
extension is installed its multi-pairing computes the same product about 25 times faster
(docs/proofs.md, "Pairing library"). Nothing from either library escapes as an exception:
every failure is one of the checks above.
"""

from __future__ import annotations

from typing import cast

from py_ecc import optimized_bn128 as bn

from ..errors import ProofVerificationError
from . import params

FIELD_MODULUS = bn.field_modulus
CURVE_ORDER = bn.curve_order
SEAL_LEN = 256

Affine1 = tuple[int, int]
Affine2 = tuple[tuple[int, int], tuple[int, int]]


def split_digest(digest: bytes) -> tuple[int, int]:
    """risc0's split of a digest into two 128-bit public inputs (low, high)."""
    x = int.from_bytes(digest, "little")
    return x & ((1 << 128) - 1), x >> 128


def public_inputs(version: params.VerifierVersion, claim_digest: bytes) -> list[int]:
    root_lo, root_hi = split_digest(version.control_root)
    claim_lo, claim_hi = split_digest(claim_digest)
    return [root_lo, root_hi, claim_lo, claim_hi, version.bn254_control_id]


def _coordinate(seal: bytes, index: int, name: str) -> int:
    value = int.from_bytes(seal[32 * index : 32 * index + 32], "big")
    if value >= FIELD_MODULUS:
        raise ProofVerificationError("seal", f"{name} is not below the BN254 field modulus")
    return value


def _g1(x: int, y: int, name: str) -> tuple:
    point = (bn.FQ(x), bn.FQ(y), bn.FQ.one())
    if (x, y) == (0, 0) or not bn.is_on_curve(point, bn.b):
        raise ProofVerificationError("seal", f"point {name} is not on the BN254 curve")
    return point


def _g2(x: tuple[int, int], y: tuple[int, int], name: str) -> tuple:
    point = (bn.FQ2(list(x)), bn.FQ2(list(y)), bn.FQ2.one())
    if (x, y) == ((0, 0), (0, 0)) or not bn.is_on_curve(point, bn.b2):
        raise ProofVerificationError("seal", f"point {name} is not on the BN254 twist (G2)")
    # G2 has a cofactor: a point on the twist outside the order-r subgroup would make the
    # pairing check meaningless, so it is refused as the EVM's pairing precompile does.
    if not bn.is_inf(bn.multiply(point, CURVE_ORDER)):
        raise ProofVerificationError("seal", f"point {name} is not in the BN254 G2 subgroup")
    return point


def decode_seal(seal: bytes) -> tuple[tuple, tuple, tuple]:
    """A, B, C of a 256-byte seal: ``A.x A.y B.x.c1 B.x.c0 B.y.c1 B.y.c0 C.x C.y``, big-endian."""
    if len(seal) != SEAL_LEN:
        raise ProofVerificationError("seal", f"{len(seal)} bytes, expected {SEAL_LEN}")
    names = ("A.x", "A.y", "B.x.c1", "B.x.c0", "B.y.c1", "B.y.c0", "C.x", "C.y")
    w = [_coordinate(seal, i, n) for i, n in enumerate(names)]
    a = _g1(w[0], w[1], "A")
    b = _g2((w[3], w[2]), (w[5], w[4]), "B")
    c = _g1(w[6], w[7], "C")
    return a, b, c


def _vk_x(inputs: list[int]) -> tuple:
    acc = (bn.FQ(params.IC[0][0]), bn.FQ(params.IC[0][1]), bn.FQ.one())
    for scalar, (x, y) in zip(inputs, params.IC[1:]):
        acc = bn.add(acc, bn.multiply((bn.FQ(x), bn.FQ(y), bn.FQ.one()), scalar % CURVE_ORDER))
    return acc


def _vk_g2(p: Affine2) -> tuple:
    return (bn.FQ2(list(p[0])), bn.FQ2(list(p[1])), bn.FQ2.one())


def _affine1(p: tuple) -> Affine1:
    x, y = bn.normalize(p)
    return int(x), int(y)


def _affine2(p: tuple) -> Affine2:
    x, y = cast("tuple[bn.FQ2, bn.FQ2]", bn.normalize(p))  # py_ecc types normalize over its base field only
    return (int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1]))


def _product_is_one_py_ecc(pairs: list[tuple[tuple, tuple]]) -> bool:
    f = bn.FQ12.one()
    for g1, g2 in pairs:
        f = f * bn.pairing(g2, g1, final_exponentiate=False)
    return bn.final_exponentiate(f) == bn.FQ12.one()


def _product_is_one_garaga(pairs: list[tuple[tuple, tuple]]) -> bool | None:
    """None when garaga's extension is missing or fails (then py_ecc decides)."""
    try:
        from garaga import garaga_rs
    except ImportError:
        return None
    args: list[int] = []
    for g1, g2 in pairs:
        (x, y), ((x0, x1), (y0, y1)) = _affine1(g1), _affine2(g2)
        args += [x, y, x0, x1, y0, y1]
    try:
        result = garaga_rs.multi_pairing(0, args)  # curve id 0 = BN254
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 - a Rust panic arrives as pyo3's PanicException (a BaseException)
        return None
    return [int(v) for v in result] == [1] + [0] * 11


PAIRING_ENGINES = ("auto", "py_ecc")


def pairing_holds(a: tuple, b: tuple, c: tuple, inputs: list[int], *, engine: str = "auto") -> bool:
    """Groth16: e(-A, B) · e(alpha, beta) · e(vk_x, gamma) · e(C, delta) == 1."""
    pairs = [
        (bn.neg(a), b),
        ((bn.FQ(params.ALPHA_G1[0]), bn.FQ(params.ALPHA_G1[1]), bn.FQ.one()), _vk_g2(params.BETA_G2)),
        (_vk_x(inputs), _vk_g2(params.GAMMA_G2)),
        (c, _vk_g2(params.DELTA_G2)),
    ]
    if engine == "auto":
        fast = _product_is_one_garaga(pairs)
        if fast is not None:
            return fast
    return _product_is_one_py_ecc(pairs)


def version_for_selector(selector: bytes) -> params.VerifierVersion:
    version = params.BY_SELECTOR.get(bytes(selector))
    if version is None:
        known = ", ".join(f"{v.name} {v.selector.hex()}" for v in params.VERSIONS)
        raise ProofVerificationError(
            "selector", f"0x{bytes(selector).hex()} is not a known RISC Zero verifier ({known})"
        )
    return version


def verify_raw_seal(seal: bytes, claim_digest: bytes, version: params.VerifierVersion, *, engine: str = "auto") -> None:
    a, b, c = decode_seal(seal)
    if not pairing_holds(a, b, c, public_inputs(version, claim_digest), engine=engine):
        raise ProofVerificationError(
            "pairing",
            f"the Groth16 seal does not prove claim 0x{claim_digest.hex()} under verifier {version.name} "
            f"(selector {version.selector.hex()})",
        )


def verify_seal(encoded_seal: bytes, claim_digest: bytes, *, engine: str = "auto") -> params.VerifierVersion:
    """``encoded_seal`` = selector ‖ 256-byte seal; returns the version it verified under."""
    if len(encoded_seal) != 4 + SEAL_LEN:
        raise ProofVerificationError("seal", f"{len(encoded_seal)} bytes, expected selector + {SEAL_LEN}")
    version = version_for_selector(encoded_seal[:4])
    verify_raw_seal(encoded_seal[4:], claim_digest, version, engine=engine)
    return version


def find_version(seal: bytes, claim_digest: bytes, *, engine: str = "auto") -> params.VerifierVersion:
    """For a bare 256-byte seal (no selector): the version whose control root it verifies under."""
    a, b, c = decode_seal(seal)
    for version in reversed(params.VERSIONS):
        if pairing_holds(a, b, c, public_inputs(version, claim_digest), engine=engine):
            return version
    raise ProofVerificationError(
        "pairing", f"the Groth16 seal does not prove claim 0x{claim_digest.hex()} under any known RISC Zero verifier"
    )
