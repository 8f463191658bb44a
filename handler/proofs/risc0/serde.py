"""RISC Zero serde: the 32-bit little-endian word format guests read with ``env::read`` and commit.

u8/u16/u32/i32/bool → one word; u64/i64/f64 → two words, low word first;
String → length word + UTF-8 bytes zero-padded to 4; ``[u32; N]`` → N words, no
prefix; ``Vec<T>`` → length word + elements. Readers are strict: missing bytes,
trailing bytes or non-zero padding raise ``JournalDecodeError``.
"""

from __future__ import annotations

import struct

from ..errors import JournalDecodeError

U32_MAX = 0xFFFFFFFF


class SerdeWriter:
    def __init__(self) -> None:
        self._buf = bytearray()

    def u32(self, v: int) -> SerdeWriter:
        if not 0 <= v <= U32_MAX:
            raise ValueError(f"u32 out of range: {v}")
        self._buf += struct.pack("<I", v)
        return self

    def i32(self, v: int) -> SerdeWriter:
        self._buf += struct.pack("<i", v)
        return self

    def u64(self, v: int) -> SerdeWriter:
        if not 0 <= v < 1 << 64:
            raise ValueError(f"u64 out of range: {v}")
        self._buf += struct.pack("<II", v & U32_MAX, v >> 32)
        return self

    def i64(self, v: int) -> SerdeWriter:
        if not -(1 << 63) <= v < 1 << 63:
            raise ValueError(f"i64 out of range: {v}")
        return self.u64(v & ((1 << 64) - 1))

    def f64(self, v: float) -> SerdeWriter:
        (bits,) = struct.unpack("<Q", struct.pack("<d", v))
        return self.u64(bits)

    def bool(self, v: bool) -> SerdeWriter:
        return self.u32(1 if v else 0)

    def string(self, s: str) -> SerdeWriter:
        return self._bytes_padded(s.encode("utf-8"))

    def byte_string(self, b: bytes) -> SerdeWriter:
        """``serialize_bytes``: a length word, the bytes, zero padding to a word."""
        return self._bytes_padded(b)

    def _bytes_padded(self, b: bytes) -> SerdeWriter:
        self.u32(len(b))
        self._buf += b + b"\0" * (-len(b) % 4)
        return self

    def u32_array(self, words: tuple[int, ...] | list[int]) -> SerdeWriter:
        for w in words:
            self.u32(w)
        return self

    def bytes(self) -> bytes:
        return bytes(self._buf)


class SerdeReader:
    def __init__(self, data: bytes) -> None:
        if len(data) % 4:
            raise JournalDecodeError(f"journal length {len(data)} is not a multiple of 4 bytes")
        self._data = bytes(data)
        self._pos = 0

    def _take(self, n: int, what: str) -> bytes:
        end = self._pos + n
        if end > len(self._data):
            raise JournalDecodeError(
                f"journal ends early while reading {what} at byte {self._pos} "
                f"(need {n}, have {len(self._data) - self._pos})"
            )
        out = self._data[self._pos : end]
        self._pos = end
        return out

    def u32(self, what: str = "u32") -> int:
        return struct.unpack("<I", self._take(4, what))[0]

    def i32(self, what: str = "i32") -> int:
        return struct.unpack("<i", self._take(4, what))[0]

    def u64(self, what: str = "u64") -> int:
        lo, hi = struct.unpack("<II", self._take(8, what))
        return lo | (hi << 32)

    def i64(self, what: str = "i64") -> int:
        v = self.u64(what)
        return v - (1 << 64) if v >> 63 else v

    def f64(self, what: str = "f64") -> float:
        return struct.unpack("<d", struct.pack("<Q", self.u64(what)))[0]

    def bool(self, what: str = "bool") -> bool:
        v = self.u32(what)
        if v not in (0, 1):
            raise JournalDecodeError(f"{what}: bool word {v} is neither 0 nor 1")
        return v == 1

    def string(self, what: str = "string", max_len: int = 1 << 20) -> str:
        n = self.u32(f"{what} length")
        if n > max_len:
            raise JournalDecodeError(f"{what}: length {n} exceeds {max_len}")
        raw = self._take(n, what)
        pad = self._take(-n % 4, f"{what} padding")
        if pad.strip(b"\0"):
            raise JournalDecodeError(f"{what}: non-zero padding bytes")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JournalDecodeError(f"{what}: not UTF-8") from exc

    def raw(self, n: int, what: str) -> bytes:
        """``n`` bytes as they are (n a multiple of 4: serde pads to words)."""
        return self._take(n, what)

    def u32_array(self, n: int, what: str = "[u32]") -> tuple[int, ...]:
        return tuple(self.u32(what) for _ in range(n))

    def finish(self) -> None:
        if self._pos != len(self._data):
            raise JournalDecodeError(f"journal has {len(self._data) - self._pos} trailing bytes after byte {self._pos}")
