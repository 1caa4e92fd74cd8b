"""Verifiable environments, one module per model type, wired by one line each below."""

from __future__ import annotations

import importlib
from functools import lru_cache

from srlforge.arena.base import (
    DIFFICULTIES,
    HELDOUT_SEED_START,
    Arena,
    parse_completion,
    render_completion,
    split_of,
)
from srlforge.rules import RuleSet, load_rules

# model type -> "module:Class". Adding a model type = one file in this package + one line here.
ARENAS: dict[str, str] = {
    "personality": "srlforge.arena.personality:PersonalityArena",
    "facial": "srlforge.arena.facial:FacialArena",
    "buildings": "srlforge.arena.buildings:BuildingsArena",
    "animals": "srlforge.arena.animals:AnimalsArena",
    "plants": "srlforge.arena.plants:PlantsArena",
    "trees": "srlforge.arena.trees:TreesArena",
    "sounds": "srlforge.arena.sounds:SoundsArena",
}


class UnknownModelType(ValueError):
    pass


def model_types() -> list[str]:
    return list(ARENAS)


def arena_class(model_type: str) -> type[Arena]:
    try:
        target = ARENAS[model_type]
    except KeyError:
        raise UnknownModelType(
            f"unknown model type '{model_type}'; choose one of: {', '.join(ARENAS)}"
        ) from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


@lru_cache(maxsize=64)
def _cached(model_type: str, rules: RuleSet) -> Arena:
    return arena_class(model_type)(rules)


def get_arena(model_type: str, rules: RuleSet | None = None) -> Arena:
    """The arena for ``model_type`` under ``rules`` (default: the configured rule set)."""
    return _cached(model_type, rules or load_rules())


__all__ = [
    "ARENAS",
    "DIFFICULTIES",
    "HELDOUT_SEED_START",
    "Arena",
    "UnknownModelType",
    "arena_class",
    "get_arena",
    "model_types",
    "parse_completion",
    "render_completion",
    "split_of",
]
