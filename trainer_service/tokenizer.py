"""A byte-level BPE tokenizer trained locally on arena text (no hub download).

The transcript markers (``<|sep|>``, ``<|eos|>``, ``<|obs|>``, ``<|pad|>``) are special tokens and
the think/action tags are atomic added tokens, so the tokenizer splits text at them before any
merge: a merge can never straddle the prompt/completion boundary, which is the failure the
reference notes describe (a model that fits SFT perfectly and writes garbage at evaluation).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from trainer_service.transcript import EOS, PAD, SEP, SPECIAL_TOKENS, TAG_TOKENS

WORD_PATTERN = r" ?[A-Za-z_]+| ?[0-9]+| ?[^\sA-Za-z0-9_]+|\s+"


def train_tokenizer(corpus: Iterable[str], vocab_size: int, out_dir: Path | None = None):
    """Train a BPE tokenizer on ``corpus``; return a transformers fast tokenizer.

    Saved with ``save_pretrained`` when ``out_dir`` is given, so ``AutoTokenizer`` loads it like
    any hub tokenizer.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    if vocab_size < 300:
        raise ValueError(
            f"vocab_size={vocab_size} leaves no room for merges over the 256 byte symbols; "
            "use 300 or more"
        )
    tok = Tokenizer(models.BPE())
    # Words keep their underscores (``river_bridge`` can become one token) and punctuation runs
    # stay together (``]},``), which roughly halves the length of compact state text compared
    # with GPT-2's split; byte-level encoding afterwards keeps every input representable.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in TAG_TOKENS])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=EOS,
        pad_token=PAD,
        sep_token=SEP,
        additional_special_tokens=[t for t in SPECIAL_TOKENS if t not in (EOS, PAD, SEP)],
        padding_side="left",
        model_max_length=8192,
    )
    if out_dir is not None:
        fast.save_pretrained(str(out_dir))
    return fast
