from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # so tests can `import chainkit`
    sys.path.insert(0, str(HERE))

from chainkit import VECTORS, FakeNode, header_to_rpc  # noqa: E402


@pytest.fixture(scope="session")
def sepolia_blocks() -> list[dict]:
    path = VECTORS / "sepolia_headers.json"
    assert path.is_file(), f"test data not found at {path}"
    return json.loads(path.read_text())["blocks"]


@pytest.fixture
def node():
    fake = FakeNode()
    yield fake
    fake.close()


@pytest.fixture
def write_blocks(tmp_path):
    def write(blocks: list[dict], name: str = "blocks.json", wrap: bool = False) -> str:
        rpc = [header_to_rpc(b) if "parent_hash" in b else b for b in blocks]
        path = tmp_path / name
        path.write_text(json.dumps({"blocks": rpc} if wrap else rpc))
        return str(path)

    return write
