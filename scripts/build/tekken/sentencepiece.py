#!/usr/bin/env python3
"""Write tests/tekken/sentencepiece.json: how much more (or less) Mistral's older
SentencePiece vocabularies count than Tekken, per tokenizer version, on every file
of tests/tekken/corpus/; and the one multiplier per version that
src/tokenizer/sentencepiece.rs applies to a Tekken count so that it never
undercounts a SentencePiece model on the corpus.

Models and versions come from mistral-common's own table
(`MODEL_NAME_TO_TOKENIZER_CLS`, behind the deprecated `MistralTokenizer.from_model`),
but for OVERRIDES below;
the `.model` files are the ones it ships in `mistral_common/data/`. A model whose
tokenizer is Tekken is listed under `tekken_models` (no correction).

For each version and each non-empty corpus file (raw text, `encode(text,
bos=False, eos=False)`, Tekken being tekken_240911 as in expectations.py):

    ratio      = tokens(SentencePiece) / tokens(Tekken)
    multiplier = max ratio over the files, rounded *up* to two decimals
    overcount  = (multiplier * tokens(Tekken) - tokens(SentencePiece)) / tokens(SentencePiece)

`mean_overcount` and `worst_overcount` are the multiplier's error over the files
(never negative, by construction). The ratio depends mostly on the script, so
`latin` holds the same for the files written in Latin script only (every letter
below U+0250: English, French, German, code, JSON), as most prompts are.
mistral-common (pinned as in pack.py) and
sentencepiece (pinned below) go into the venv that expectations.py uses, installed
only when missing. The file is rewritten only if it changed.
"""

import json
import subprocess
import sys
import venv
from pathlib import Path

# Keep the source tree free of __pycache__.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from expectations import CORPUS, PYTHON, TOKENIZER, VENV, installed, write  # noqa: E402
from pack import ROOT, VERSION  # noqa: E402

SENTENCEPIECE = "0.2.1"
OUTPUT = ROOT / "tests" / "tekken" / "sentencepiece.json"
# Where mistral-common's table is wrong: it says Tekken for mistral-small-2409, but
# the open weights (Mistral-Small-Instruct-2409) ship a 32,768-piece vocabulary,
# and mistralai/cookbook's tokenization guide lists that model under SentencePiece
# v3. Counted as v3, the safe side for reserving.
OVERRIDES = {"mistral-small-2409": "v3"}

# Runs inside the venv: argv[1] is the corpus directory; prints the measurements.
MEASURE = f"""
import json, sys, warnings
from pathlib import Path
import mistral_common
from mistral_common.tokens.tokenizers.mistral import MODEL_NAME_TO_TOKENIZER_CLS
from mistral_common.tokens.tokenizers.sentencepiece import SentencePieceTokenizer
from mistral_common.tokens.tokenizers.tekken import Tekkenizer

warnings.simplefilter("ignore")
assert mistral_common.__version__ == "{VERSION}", mistral_common.__version__
data = Path(mistral_common.__file__).parent / "data"
tekken = Tekkenizer.from_file(data / "{TOKENIZER}.json")

# model -> (version, file) for SentencePiece models; Tekken models apart.
spm_models, tekken_models = {{}}, []
for model, make in sorted(MODEL_NAME_TO_TOKENIZER_CLS.items()):
    inner = make().instruct_tokenizer.tokenizer
    if isinstance(inner, SentencePieceTokenizer):
        spm_models[model] = (inner.version.value, Path(inner.file_path).name)
    else:
        assert isinstance(inner, Tekkenizer), type(inner)
        tekken_models.append(model)
for model, version in {OVERRIDES!r}.items():
    tekken_models.remove(model)
    spm_models[model] = next(v for v in spm_models.values() if v[0] == version)

texts = {{}}
for path in sorted(Path(sys.argv[1]).iterdir()):
    # Bytes, decoded strictly: no newline translation.
    texts[path.name] = path.read_bytes().decode("utf-8")
latin = sorted(name for name, t in texts.items() if all(ord(c) < 0x250 for c in t if c.isalpha()))
tekken_counts = {{name: len(tekken.encode(t, bos=False, eos=False)) for name, t in texts.items()}}

# Every SentencePiece file the table uses, counted once.
files = sorted({{f for _, f in spm_models.values()}})
spm_counts = {{}}
for f in files:
    spm = SentencePieceTokenizer(str(data / f))
    spm_counts[f] = {{name: len(spm.encode(t, bos=False, eos=False)) for name, t in texts.items()}}

print(json.dumps(dict(spm_models=spm_models, tekken_models=tekken_models,
                      tekken=tekken_counts, spm=spm_counts, latin=latin)))
"""


def ensure_venv() -> None:
    """expectations.py's venv, plus sentencepiece (mistral-common's optional extra)."""
    if not installed():
        venv.create(VENV, with_pip=True, clear=True)
    probe = "import sentencepiece, sys; sys.exit(sentencepiece.__version__ != sys.argv[1])"
    if not installed() or subprocess.run([str(PYTHON), "-c", probe, SENTENCEPIECE], capture_output=True).returncode:
        pip = [str(PYTHON), "-m", "pip", "install", "--quiet"]
        subprocess.run(pip + [f"mistral-common[sentencepiece]=={VERSION}", f"sentencepiece=={SENTENCEPIECE}"], check=True)


def ceil_hundredths(num: int, den: int) -> float:
    """num / den rounded up to two decimals, in exact integer arithmetic."""
    return -(-100 * num // den) / 100


def main() -> None:
    ensure_venv()
    out = subprocess.run([str(PYTHON), "-c", MEASURE, str(CORPUS)], check=True, capture_output=True, text=True)
    m = json.loads(out.stdout)
    tekken = m["tekken"]
    files = [name for name, n in tekken.items() if n > 0]  # empty files: skipped

    versions: dict[str, dict] = {}
    for model, (version, spm_file) in m["spm_models"].items():
        entry = versions.setdefault(version, {"models": [], "tokenizer_files": []})
        entry["models"].append(model)
        if spm_file not in entry["tokenizer_files"]:
            entry["tokenizer_files"].append(spm_file)

    rows = []
    for version in sorted(versions, key=lambda v: int(v.lstrip("v"))):
        entry = versions[version]
        entry["tokenizer_files"].sort()
        per_file_counts = [m["spm"][f] for f in entry["tokenizer_files"]]
        # Files of one version (v7 and its multimodal v7m1) must count raw text alike,
        # else one multiplier per version would not be measured for all its models.
        assert all(c == per_file_counts[0] for c in per_file_counts), (version, entry["tokenizer_files"])
        spm = per_file_counts[0]
        multiplier = max(ceil_hundredths(spm[f], tekken[f]) for f in files)
        ratios, overcounts = {}, []
        for f in files:
            over = (multiplier * tekken[f] - spm[f]) / spm[f]
            assert over >= 0, (version, f)
            overcounts.append(over)
            ratios[f] = {"sentencepiece": spm[f], "tekken": tekken[f], "ratio": round(spm[f] / tekken[f], 4),
                         "overcount": round(over, 4)}
        entry["ratios"] = ratios
        entry["multiplier"] = multiplier
        entry["mean_overcount"] = round(sum(overcounts) / len(overcounts), 4)
        entry["worst_overcount"] = round(max(overcounts), 4)
        # The same bound over the Latin-script files alone.
        latin_files = [f for f in files if f in m["latin"]]
        latin = max(ceil_hundredths(spm[f], tekken[f]) for f in latin_files)
        latin_over = [(latin * tekken[f] - spm[f]) / spm[f] for f in latin_files]
        assert min(latin_over) >= 0, version
        entry["latin"] = {"files": latin_files, "multiplier": latin,
                          "mean_overcount": round(sum(latin_over) / len(latin_over), 4),
                          "worst_overcount": round(max(latin_over), 4)}
        rows.append((version, entry))

    # The table.
    print(f"{'file':<16}{'tekken':>8}" + "".join(f"{v + ' spm':>10}{'ratio':>8}" for v, _ in rows))
    for f in files:
        line = f"{f:<16}{tekken[f]:>8}"
        for _, e in rows:
            r = e["ratios"][f]
            line += f"{r['sentencepiece']:>10}{r['ratio']:>8.3f}"
        print(line)
    for v, e in rows:
        print(f"{v}: x{e['multiplier']:.2f}  mean overcount {e['mean_overcount']:.1%}, "
              f"worst {e['worst_overcount']:.1%}; Latin script x{e['latin']['multiplier']:.2f}  mean overcount "
              f"{e['latin']['mean_overcount']:.1%}, worst {e['latin']['worst_overcount']:.1%}  ({', '.join(e['models'])})")
    print(f"tekken (no correction): {', '.join(m['tekken_models'])}")

    result = {
        "mistral_common": VERSION,
        "sentencepiece": SENTENCEPIECE,
        "tekken_tokenizer": TOKENIZER,
        "skipped_empty": sorted(set(tekken) - set(files)),
        "versions": dict(rows),
        "tekken_models": m["tekken_models"],
    }
    write(OUTPUT, result, f"{len(rows)} versions x {len(files)} files", by="sentencepiece.py")


if __name__ == "__main__":
    main()
