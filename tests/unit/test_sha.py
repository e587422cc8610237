"""``timescape.model._sha``: hashlib's digests, without OpenSSL below 1 MB (issue 14)."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from timescape.model._sha import LARGE, sha256


@pytest.mark.parametrize("size", [0, 1, 63, 64, 1000, LARGE - 1, LARGE, LARGE + 1])
def test_sha256__any_size__same_digest_as_hashlib(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()


def test_sha256__fed_in_slices_with_size__same_digest_as_hashlib() -> None:
    data = b"create table t (a int);\n" * 100_000  # 2.4 MB: hashlib's side of the threshold
    digest = sha256(size=len(data))
    for start in range(0, len(data), LARGE):
        digest.update(data[start : start + LARGE])
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


def test_sha256__small_input__openssl_not_loaded() -> None:
    code = (
        "import sys\n"
        "from timescape.model._sha import sha256\n"
        "sha256(b'select 1').hexdigest()\n"
        "print('_hashlib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
