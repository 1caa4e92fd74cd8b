"""Teacher backend for a local transformers causal LM (a folder written by ``save_pretrained``).

Generation runs in a worker thread so the asyncio orchestrator stays responsive; one lock
serialises calls because a single CPU model gains nothing from overlapping generate() calls and
tokenizers are not guaranteed thread-safe. torch and transformers are imported on first use, so
``srlforge.llm`` stays importable without the [train] extra.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srlforge.llm.base import Message, TeacherConfigError, TeacherRequest


@dataclass(frozen=True)
class HFLocalConfig:
    model_path: str = ""
    max_new_tokens: int = 256
    temperature: float = 0.0  # 0 = greedy decoding
    device: str = "cpu"
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.model_path:
            raise TeacherConfigError(
                "teacher 'hf' needs a local model folder: set SRLFORGE_COLLAB_HF_MODEL_PATH "
                "(or --model) to a directory written by save_pretrained"
            )
        path = Path(self.model_path)
        if not (path / "config.json").is_file():
            raise TeacherConfigError(
                f"teacher 'hf': {path} is not a transformers model folder (no config.json)"
            )
        if self.max_new_tokens < 1:
            raise TeacherConfigError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise TeacherConfigError(f"temperature must be >= 0, got {self.temperature}")


class HFLocalTeacher:
    name = "hf"
    config_class = HFLocalConfig

    def __init__(self, config: HFLocalConfig) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.config = config
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(config.model_path)
        self.lm = AutoModelForCausalLM.from_pretrained(config.model_path).to(config.device)
        self.lm.eval()
        self._lock = threading.Lock()
        self._generator = torch.Generator(device=config.device).manual_seed(config.seed)

    @property
    def model(self) -> str:
        return str(Path(self.config.model_path).resolve())

    def _prompt_ids(self, messages: list[Message]) -> Any:
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            ids = tok.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=False
            )
        else:
            # Base models without a chat template get the conversation as plain text.
            text = "\n\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\n\nassistant:"
            ids = tok(text, return_tensors="pt").input_ids
        # Keep the most recent context: the step request and feedback sit at the end.
        limit = getattr(self.lm.config, "max_position_embeddings", None)
        if limit is not None:
            keep = max(1, limit - self.config.max_new_tokens)
            ids = ids[:, -keep:]
        return ids.to(self.config.device)

    def generate(self, messages: list[Message]) -> str:
        torch = self._torch
        with self._lock, torch.inference_mode():
            ids = self._prompt_ids(messages)  # (1, T)
            sample = self.config.temperature > 0
            pad = self.tokenizer.pad_token_id
            if pad is None:
                pad = self.tokenizer.eos_token_id
            if sample:
                torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=self._generator)))
            out = self.lm.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=self.config.max_new_tokens,
                do_sample=sample,
                temperature=self.config.temperature if sample else None,
                top_p=None,
                top_k=None,
                pad_token_id=pad,
            )  # (1, T + new)
            return self.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)

    async def chat(self, messages: list[Message]) -> str:
        return await asyncio.to_thread(self.generate, messages)

    async def propose(self, request: TeacherRequest) -> str:
        return await self.chat(request.messages)

    async def aclose(self) -> None:
        return None
