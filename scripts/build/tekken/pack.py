#!/usr/bin/env python3
"""Pack Mistral's Tekken vocabulary into target/tekken/tekken.bin.

Downloads the pinned mistral-common wheel with pip, checks its sha256, reads
mistral_common/data/tekken_240911.json and writes the ranks the tokenizer uses
in the layout that src/tokenizer/tekken.rs parses (all integers little-endian):

    b"TKN1"                  magic and layout version
    u32 num_special_tokens   ids of ordinary tokens are shifted by this
    u32 num_ranks            inner BPE ranks that follow
    u32 pattern_len          then the pre-tokenisation regex, UTF-8
    num_ranks times: u8 len, then the token's bytes (rank = position)

The wheel's LICENSE (Apache-2.0) and a NOTICE naming the source go next to it.
Run again, it does nothing unless the pinned source or the layout changed.
"""

import base64
import gzip
import hashlib
import json
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

VERSION = "1.13.1"
WHEEL = f"mistral_common-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "98b4d0755b8d90bf4691fa8f1b70cb3b4a8cd4dc1653c4ed08ef3d1c7d2c29af"
VOCAB_MEMBER = "mistral_common/data/tekken_240911.json"
LICENSE_MEMBER = f"mistral_common-{VERSION}.dist-info/licenses/LICENSE"
MAGIC = b"TKN1"

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "target" / "tekken"
PACKED = OUT / "tekken.bin"
LICENSE = OUT / "LICENSE-mistral-common.txt"
NOTICE = OUT / "NOTICE"
# What the current files were made from; a mismatch means rebuild.
STAMP = OUT / "tekken.bin.stamp"
STAMP_TEXT = f"{WHEEL} {WHEEL_SHA256} {MAGIC.decode()}\n"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_wheel() -> Path:
    wheel = OUT / WHEEL
    if not (wheel.exists() and sha256(wheel) == WHEEL_SHA256):
        subprocess.run(
            [sys.executable, "-m", "pip", "download", f"mistral-common=={VERSION}",
             "--no-deps", "--only-binary=:all:", "-d", str(OUT), "--quiet"],
            check=True,
        )
    got = sha256(wheel)
    if got != WHEEL_SHA256:
        sys.exit(f"pack.py: {wheel} has sha256 {got}, expected {WHEEL_SHA256}")
    return wheel


def pack(tekken: dict) -> bytes:
    config = tekken["config"]
    num_special = config["default_num_special_tokens"]
    # As mistral-common's Tekkenizer: the BPE uses the first
    # vocab_size - num_special entries, each rank its position.
    num_ranks = config["default_vocab_size"] - num_special
    vocab = tekken["vocab"][:num_ranks]
    if len(vocab) != num_ranks:
        sys.exit(f"pack.py: {len(vocab)} vocab entries, expected {num_ranks}")

    pattern = config["pattern"].encode("utf-8")
    out = bytearray(MAGIC)
    out += struct.pack("<III", num_special, num_ranks, len(pattern))
    out += pattern
    seen = set()
    for position, entry in enumerate(vocab):
        token = base64.b64decode(entry["token_bytes"])
        if entry["rank"] != position or not 0 < len(token) < 256 or token in seen:
            sys.exit(f"pack.py: unexpected vocab entry at {position}: {entry!r}")
        seen.add(token)
        out.append(len(token))
        out += token
    return bytes(out)


def notice(num_ranks: int) -> str:
    return f"""tekken.bin is derived from the Tekken tokenizer vocabulary of Mistral AI,
file {VOCAB_MEMBER} in the PyPI package mistral-common {VERSION}
({WHEEL}, sha256 {WHEEL_SHA256}).

Copyright Mistral AI. Licensed under the Apache License, Version 2.0; the licence
text is in LICENSE-mistral-common.txt next to this file.

Modifications: only the first {num_ranks} vocabulary entries (the BPE ranks the
tokenizer uses) and the pre-tokenisation pattern are kept, repacked as
length-prefixed bytes by scripts/build/tekken/pack.py of mistral-ratelimit.
"""


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    done = [PACKED, LICENSE, NOTICE, STAMP]
    if all(p.exists() for p in done) and STAMP.read_text() == STAMP_TEXT:
        print(f"pack.py: {PACKED.relative_to(ROOT)} is up to date")
        return

    wheel = fetch_wheel()
    with zipfile.ZipFile(wheel) as z:
        tekken = json.loads(z.read(VOCAB_MEMBER))
        licence = z.read(LICENSE_MEMBER)
    packed = pack(tekken)

    STAMP.unlink(missing_ok=True)
    PACKED.write_bytes(packed)
    LICENSE.write_bytes(licence)
    NOTICE.write_text(notice(struct.unpack_from("<I", packed, 8)[0]))
    STAMP.write_text(STAMP_TEXT)
    gz = len(gzip.compress(packed, 9))
    print(f"pack.py: wrote {PACKED.relative_to(ROOT)}: {len(packed):,} bytes, {gz:,} gzip -9")


if __name__ == "__main__":
    main()
