#!/usr/bin/env python3
"""Write tests/tekken/expected.json: mistral-common's own Tekken count of every
file in tests/tekken/corpus/, the reference that tests/tekken.rs must match; and
tests/tekken/chat_expected.json: mistral-common's `encode_chat_completion` length
of every request body in tests/tekken/chats/, for each chat template version.

Chat counts: the vocabulary is tekken_240911's; the instruct tokenizer, validator
(test mode) and normaliser are mistral-common's for versions v3, v7, v11, v13 and
v15 (the file itself says v3, so other versions are set in memory, and the special
tokens later versions need, [ARGS] [CALL_ID] [THINK] [/THINK] [MODEL_SETTINGS]
[/MODEL_SETTINGS], are added after the 20 built-in ones: ids do not change
counts). v15 gets Mistral Small 4's model settings: `reasoning_effort` "none" or
"high", "none" when absent. A chat body (`messages`, `tools`, `reasoning_effort`)
goes to `ChatCompletionRequest` as it is; a conversation body (`inputs`,
`instructions`, `tools`, `completion_args`) is first turned into the equivalent
chat by `conversation_to_chat` below, the equivalence that src/tokenizer/chat.rs
implements. A request mistral-common refuses is recorded as null (and named on
stderr): the counter must refuse it too.

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
CHATS = ROOT / "tests" / "tekken" / "chats"
CHAT_EXPECTED = ROOT / "tests" / "tekken" / "chat_expected.json"
CHAT_VERSIONS = ["v3", "v7", "v11", "v13", "v15"]
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

# Runs inside the venv: argv[1] is the chats directory; prints {file: {version: count or null}}.
CHAT_COUNT = f"""
import json, sys, warnings
from pathlib import Path
import mistral_common
from mistral_common.exceptions import MistralCommonException
from mistral_common.protocol.instruct.normalize import get_normalizer
from mistral_common.protocol.instruct.request import ChatCompletionRequest, ReasoningEffort
from mistral_common.protocol.instruct.validator import ValidationMode, get_validator
from mistral_common.tokens.tokenizers.base import SpecialTokens, TokenizerVersion
from mistral_common.tokens.tokenizers.instruct import (
    InstructTokenizerV3, InstructTokenizerV7, InstructTokenizerV11, InstructTokenizerV13, InstructTokenizerV15)
from mistral_common.tokens.tokenizers.mistral import MistralTokenizer
from mistral_common.tokens.tokenizers.model_settings_builder import ModelSettingsBuilder, ReasoningEffortEnumBuilder
from mistral_common.tokens.tokenizers.tekken import Tekkenizer

warnings.simplefilter("ignore")
assert mistral_common.__version__ == "{VERSION}", mistral_common.__version__
data = json.loads((Path(mistral_common.__file__).parent / "data" / "{TOKENIZER}.json").read_text())
config = data["config"]
specials = [dict(t) for t in Tekkenizer.DEPRECATED_SPECIAL_TOKENS]
specials += [dict(rank=i, token_str=f"<SPECIAL_{{i}}>", is_control=True) for i in range(len(specials), 32)]
for name in ("args", "call_id", "begin_think", "end_think", "begin_model_settings", "end_model_settings"):
    specials.append(dict(rank=len(specials), token_str=SpecialTokens[name].value, is_control=True))
CLASSES = {{"v3": InstructTokenizerV3, "v7": InstructTokenizerV7, "v11": InstructTokenizerV11,
           "v13": InstructTokenizerV13, "v15": InstructTokenizerV15}}
# Mistral Small 4's settings, as its released tekken.json behaves in mistral-common's tests.
EFFORT = ReasoningEffortEnumBuilder(values=[ReasoningEffort.none, ReasoningEffort.high], default=ReasoningEffort.none)
SETTINGS = ModelSettingsBuilder(reasoning_effort=EFFORT)


def tokenizer(version):
    v = TokenizerVersion(version)
    settings = SETTINGS if v.supports_model_settings else None
    tekken = Tekkenizer(data["vocab"], specials, config["pattern"], config["default_vocab_size"],
                        config["default_num_special_tokens"], v, model_settings_builder=settings)
    return MistralTokenizer(CLASSES[version](tekken), get_validator(v, ValidationMode.test),
                            get_normalizer(v, settings))


def conversation_to_chat(body):
    messages = []
    if body.get("instructions"):
        messages.append({{"role": "system", "content": body["instructions"]}})
    inputs = body["inputs"]
    if isinstance(inputs, str):
        inputs = [{{"role": "user", "content": inputs}}]
    for entry in inputs:
        kind = entry.get("type", "message.input")
        if kind in ("message.input", "message.output"):
            messages.append({{"role": entry["role"], "content": entry["content"]}})
        elif kind == "function.call":
            # Parallel calls are consecutive entries: one assistant message holds them.
            call = {{"id": entry["tool_call_id"], "function": {{"name": entry["name"], "arguments": entry["arguments"]}}}}
            if messages and messages[-1].get("tool_calls"):
                messages[-1]["tool_calls"].append(call)
            else:
                messages.append({{"role": "assistant", "tool_calls": [call]}})
        elif kind == "function.result":
            messages.append({{"role": "tool", "tool_call_id": entry["tool_call_id"], "content": entry["result"]}})
        else:
            raise ValueError(kind)
    args = body.get("completion_args") or {{}}
    return {{"messages": messages, "tools": body.get("tools"), "reasoning_effort": args.get("reasoning_effort")}}


def count(name, version, body):
    try:
        request = ChatCompletionRequest(messages=body["messages"], tools=body.get("tools"),
                                        reasoning_effort=body.get("reasoning_effort"))
        return len(tokenizers[version].encode_chat_completion(request).tokens)
    except (MistralCommonException, ValueError, AssertionError) as e:
        print(f"{{name}} {{version}}: refused ({{type(e).__name__}}: {{e}})".splitlines()[0], file=sys.stderr)
        return None


tokenizers = {{v: tokenizer(v) for v in {CHAT_VERSIONS!r}}}
counts = {{}}
for path in sorted(Path(sys.argv[1]).iterdir()):
    body = json.loads(path.read_bytes().decode("utf-8"))
    if "inputs" in body:
        body = conversation_to_chat(body)
    counts[path.name] = {{v: count(path.name, v, body) for v in tokenizers}}
print(json.dumps(counts))
"""


def write(path: Path, value: dict, what: str, by: str = "expectations.py") -> None:
    """Writes `value` as JSON to `path` only if it changed; `by` names the script in messages."""
    text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    if path.exists() and path.read_text(encoding="utf-8") == text:
        print(f"{by}: {path.relative_to(ROOT)} is up to date ({what})")
        return
    path.write_text(text, encoding="utf-8")
    print(f"{by}: wrote {path.relative_to(ROOT)} ({what})")


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
    write(EXPECTED, expected, f"{len(counts)} files, {sum(counts.values())} tokens")

    out = subprocess.run([str(PYTHON), "-c", CHAT_COUNT, str(CHATS)], check=True, capture_output=True, text=True)
    print(out.stderr, end="", file=sys.stderr)
    chats = json.loads(out.stdout)
    expected = {"mistral_common": VERSION, "tokenizer": TOKENIZER, "versions": CHAT_VERSIONS, "counts": chats}
    write(CHAT_EXPECTED, expected, f"{len(chats)} requests x {len(CHAT_VERSIONS)} versions")


if __name__ == "__main__":
    main()
