"""The locally trained tokenizer never merges across the prompt/completion boundary."""

from __future__ import annotations

from srlforge.arena import get_arena
from trainer_service.tokenizer import train_tokenizer
from trainer_service.transcript import EOS, SEP, TAG_TOKENS, srl_rows


def _rows():
    arena = get_arena("personality")
    rows = []
    for i in range(30):
        scenario = arena.sample(0, i, 1 + i % 3)
        rows += srl_rows(arena, scenario, arena.solve(scenario))
    return rows


def test_prompt_and_completion_tokenize_independently(tmp_path):
    rows = _rows()
    tok = train_tokenizer([r["prompt"] + r["completion"] for r in rows], 800, tmp_path)
    for row in rows:
        joined = tok(row["prompt"] + row["completion"], add_special_tokens=False)["input_ids"]
        apart = (
            tok(row["prompt"], add_special_tokens=False)["input_ids"]
            + tok(row["completion"], add_special_tokens=False)["input_ids"]
        )
        assert joined == apart
    for token in (SEP, EOS, *TAG_TOKENS):
        assert len(tok(token, add_special_tokens=False)["input_ids"]) == 1


def test_decoding_keeps_the_tags_and_drops_the_markers(tmp_path):
    from transformers import AutoTokenizer

    rows = _rows()
    train_tokenizer([r["prompt"] + r["completion"] for r in rows], 800, tmp_path)
    tok = AutoTokenizer.from_pretrained(str(tmp_path))  # the saved folder loads like any other
    ids = tok(rows[0]["completion"] + EOS, add_special_tokens=False)["input_ids"]
    assert ids[-1] == tok.eos_token_id
    assert tok.decode(ids, skip_special_tokens=True) == rows[0]["completion"]
