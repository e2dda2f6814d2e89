#!/usr/bin/env python3
"""Write tests/tekken/expected.json: mistral-common's own Tekken count of every
file in tests/tekken/corpus/, the reference that tests/tekken.rs must match.

mistral-common (pinned as in pack.py) goes into a venv at target/tekken/venv,
made and installed only when missing. The counts are raw text:
`encode(text, bos=False, eos=False)`. The file is rewritten only if it changed.
"""

import json
import subprocess
import sys
import venv
from pathlib import Path

# Keep the source tree free of __pycache__.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pack import OUT, ROOT, VERSION  # noqa: E402

VENV = OUT / "venv"
PYTHON = VENV / "bin" / "python"
CORPUS = ROOT / "tests" / "tekken" / "corpus"
EXPECTED = ROOT / "tests" / "tekken" / "expected.json"
TOKENIZER = "tekken_240911"

# Runs inside the venv: argv[1] is the corpus directory; prints {file: count}.
COUNT = f"""
import json, sys
from pathlib import Path
import mistral_common
from mistral_common.tokens.tokenizers.tekken import Tekkenizer

assert mistral_common.__version__ == "{VERSION}", mistral_common.__version__
data = Path(mistral_common.__file__).parent / "data" / "{TOKENIZER}.json"
tekken = Tekkenizer.from_file(data)
counts = {{}}
for path in sorted(Path(sys.argv[1]).iterdir()):
    # Bytes, decoded strictly: no newline translation.
    text = path.read_bytes().decode("utf-8")
    counts[path.name] = len(tekken.encode(text, bos=False, eos=False))
print(json.dumps(counts))
"""


def installed() -> bool:
    if not PYTHON.exists():
        return False
    probe = "import mistral_common, sys; sys.exit(mistral_common.__version__ != sys.argv[1])"
    return subprocess.run([str(PYTHON), "-c", probe, VERSION], capture_output=True).returncode == 0


def main() -> None:
    if not installed():
        venv.create(VENV, with_pip=True, clear=True)
        subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", f"mistral-common=={VERSION}"], check=True)

    out = subprocess.run([str(PYTHON), "-c", COUNT, str(CORPUS)], check=True, capture_output=True, text=True)
    counts = json.loads(out.stdout)
    expected = {"mistral_common": VERSION, "tokenizer": TOKENIZER, "counts": counts}
    text = json.dumps(expected, indent=2, ensure_ascii=False) + "\n"
    if EXPECTED.exists() and EXPECTED.read_text(encoding="utf-8") == text:
        print(f"expectations.py: {EXPECTED.relative_to(ROOT)} is up to date ({len(counts)} files)")
        return
    EXPECTED.write_text(text, encoding="utf-8")
    print(f"expectations.py: wrote {EXPECTED.relative_to(ROOT)} ({len(counts)} files, {sum(counts.values())} tokens)")


if __name__ == "__main__":
    main()
