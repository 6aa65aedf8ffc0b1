"""A character-level tokenizer: one token per printable ASCII character plus newline.

Built with the ``tokenizers`` library and wrapped as a ``transformers`` fast tokenizer, so it is saved and
loaded with ``save_pretrained`` / ``AutoTokenizer.from_pretrained`` like any other. Characters outside the
vocabulary become ``<unk>``.
"""

from __future__ import annotations

from typing import Any

PAD, EOS, UNK = "<pad>", "<eos>", "<unk>"
SPECIALS = (PAD, EOS, UNK)
CHARS = ("\n",) + tuple(chr(i) for i in range(32, 127))


def vocab() -> dict[str, int]:
    return {s: i for i, s in enumerate(SPECIALS + CHARS)}


def char_tokenizer() -> Any:
    """A ``PreTrainedTokenizerFast`` mapping each character to one id (pad 0, eos 1, unk 2)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.WordLevel(vocab=vocab(), unk_token=UNK))
    # Every character is its own "word" (newlines included); Fuse joins them back without spaces.
    tk.pre_tokenizer = pre_tokenizers.Split(Regex("[\\s\\S]"), behavior="isolated")
    tk.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=tk, pad_token=PAD, eos_token=EOS, unk_token=UNK, bos_token=EOS, padding_side="left"
    )
