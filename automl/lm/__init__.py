"""Language-model helpers for the ``causal-lm`` and ``lm-decode`` trainers.

``data`` (JSONL of prompt/completion, split like tabular data), ``tokenizer`` (a character-level tokenizer),
``builtin`` (the demo base model ``builtin:tiny``, pretrained on first use and cached), ``encode`` (prompt
loss weights, left truncation, completion-only loss) and ``generate`` (batched generation, stop sequences,
pass@k). Everything here imports torch/transformers lazily, inside functions.
"""
