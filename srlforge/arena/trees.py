"""Trees: plant, shape and voice the trees of a scene for a biome, a month and a wind speed.

Each tree takes three dependent steps: ``plant`` (species, age class, height, trunk, role),
``shape`` (crown, branch, roots, leaves for the month) and ``voice`` (the aeolian tone of its
branch at the scene's wind, f ≈ 0.2·U/d). A crown needs a trunk and a tone needs a branch, and a
shade-needing understory tree needs a finished canopy crown beside it, so reordering, dropping or
repeating steps breaks the scene. Every threshold comes from ``rules/data/<v>/trees.yaml``.
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from pydantic import BaseModel

from srlforge.arena import _flora as fl
from srlforge.arena._trees_model import (
    AeolianTable,
    BiomeRow,
    LayerTable,
    LeafTable,
    PlantParams,
    RoleRow,
    ShapeParams,
    SpeciesRow,
    StructureTable,
    TreeAction,
    VoiceParams,
)
from srlforge.rules import RuleSet
from srlforge.schema import Scenario, Violation


def _mid(band: tuple[float, float]) -> float:
    return (band[0] + band[1]) / 2


class TreesArena(fl.FloraArena):
    model_type: ClassVar[str] = "trees"
    action_model: ClassVar[type[BaseModel]] = TreeAction
    description: ClassVar[str] = "Trees for a biome and month: structure, age, leaves, wind tone."
    steps_per_element: ClassVar[int] = 3

    def _load_species(self, rules: RuleSet) -> None:
        t = self.model_type
        self.biomes = {b.id: b for b in rules.table(t, "biomes", fl.Rows[BiomeRow]).rows}
        self.species = {r.id: r for r in rules.table(t, "species", fl.Rows[SpeciesRow]).rows}
        leaves = rules.table(t, "leaf_calendar", LeafTable)
        self.calendar = {r.id: r for r in leaves.rows}
        self.leaf_colours = leaves.leaf_colours
        self.structure = rules.table(t, "structure", StructureTable)
        self.aeolian = rules.table(t, "aeolian", AeolianTable)
        layers = rules.table(t, "layers", LayerTable)
        self.layer_rank = {r.id: r.rank for r in layers.rows}
        self.shade_min_crown = layers.shade_min_crown_m
        self.roles = {r.id: r for r in rules.table(t, "roles", fl.Rows[RoleRow]).rows}
        for sp in self.species.values():
            for path, bad in (
                ("biomes", set(sp.biomes) - self.biomes.keys()),
                ("phenology", {sp.phenology} - self.calendar.keys()),
                ("layer", {sp.layer} - self.layer_rank.keys()),
            ):
                if bad:
                    raise self._where(f"tables.species[{sp.id}].{path}", sorted(bad))
        for role in self.roles.values():
            if set(role.stages) - self.stages.keys():
                raise self._where(f"tables.roles[{role.id}].stages", role.stages)
        self.colours = {c for cs in self.leaf_colours.values() for c in cs}
        self.colours |= {c for sp in self.species.values() for c in sp.autumn_colours}
        self.biome_species = {
            b: [s for s in self.species.values() if b in s.biomes] for b in self.biomes
        }
        self.biome_ids = [b for b, sps in self.biome_species.items() if sps]

    def _tone(self, wind_ms: float, branch_m: float) -> float:
        """Aeolian tone (Hz) of a branch of diameter ``branch_m`` in wind ``wind_ms``."""
        return self.aeolian.strouhal * wind_ms / branch_m

    # ----- FloraArena hooks ------------------------------------------------------------------

    def _scene(self, rng, level, biome, month):
        b = self.biomes[biome]
        cells, zones = fl.build_grid(rng, level, b.moisture, b.soils)
        wind = round(rng.uniform(*self.aeolian.wind_ms), 1)
        return {
            "biome": biome,
            "month": month,
            "wind_ms": wind,
            "width": level.width,
            "cells": cells,
            "_zones": zones,
        }

    def _role_ok(self, sp: SpeciesRow, role: RoleRow, month: int) -> bool:
        return (
            (not role.poisonous or sp.poisonous)
            and (not role.needs_leaves or self.calendar[sp.phenology].expected[month - 1] != "bare")
            and sp.height_m[1] >= role.min_height_m
        )

    def _role_species(self, biome, role, month):
        r = self.roles[role]
        return [sp for sp in self.biome_species[biome] if self._role_ok(sp, r, month)]

    def _fit_cell(self, rng, cell, sp, biome, month):
        b = self.biomes[biome]
        cell["moisture"] = rng.choice([m for m in sp.moisture if m in b.moisture] or sp.moisture)
        cell["soil"] = rng.choice([s for s in sp.soils if s in b.soils] or sp.soils)

    def _fits(self, cell, sp, role, month):
        # The expert leaves shade-needing species out: they depend on a neighbour's crown, and a
        # free-standing alternative always exists because the generator plants none of them.
        return (
            not sp.needs_shade
            and cell["moisture"] in sp.moisture
            and cell["soil"] in sp.soils
            and self._role_ok(sp, self.roles[role], month)
        )

    def _decorate(self, rng, req, level, state):
        if req["role"] == "landmark" and level.tone_band:
            tone = self._tone(state["wind_ms"], rng.uniform(*self.aeolian.tone_twig_m))
            half = self.aeolian.tone_band_half
            req["tone_hz"] = [round(tone * (1 - half), 1), round(tone * (1 + half), 1)]

    def _rank(self, sp):
        return self.layer_rank[sp.layer]

    def _element_actions(self, state, req, cell, sp):
        month, wind, role = state["month"], state["wind_ms"], self.roles[req["role"]]
        s = self.structure
        lo, hi = fl.stage_band(self.stages["mature"], *sp.height_m)
        height = round(max(_mid((lo, hi)), role.min_height_m), 1)
        trunk = round(height / _mid(s.slenderness), 3)
        crown = round(height * _mid(s.crown_ratio), 2)
        form = "knees" if sp.knees and cell["moisture"] == "wet" else "lateral"
        leaves = self.calendar[sp.phenology].expected[month - 1]
        colour = sp.autumn_colours[0] if leaves == "autumn" else self.leaf_colours[leaves][0]
        band = req.get("tone_hz")
        twig = round(self._tone(wind, _mid(band)), 4) if band else s.default_twig_m
        tone = round(self._tone(wind, twig), 1)
        plant = {"species": sp.id, "stage": "mature", "height_m": height}
        plant |= {"trunk_diameter_m": trunk, "role": req["role"]}
        shape = {"crown_radius_m": crown, "branch_diameter_m": twig}
        shape |= {"root_spread_m": round(crown * _mid(s.root_ratio), 2), "root_form": form}
        shape |= {"leaves": leaves, "leaf_colour": colour}
        target = cell["id"]
        why_tone = f", inside the brief's {band} Hz band" if band else ""
        return [
            (
                f"{req['role']} {req['where']}: {sp.id} is a {sp.layer} tree of {state['biome']} "
                f"suited to the {cell['moisture']} {cell['soil']} cell {target}; a mature one is "
                f"{sp.height_m[0]}-{sp.height_m[1]} m, so {height} m on a {trunk} m trunk.",
                {"type": "plant", "target": target, "params": plant},
            ),
            (
                f"Month {month}: a {sp.phenology} {sp.id} is {leaves} ({colour}); crown {crown} m, "
                f"a {twig} m branch thinner than the trunk, {form} roots.",
                {"type": "shape", "target": target, "params": shape, "timing": {"month": month}},
            ),
            (
                f"Aeolian tone f = 0.2 U/d = 0.2 x {wind} / {twig} = {tone} Hz (AMS "
                f"glossary){why_tone}.",
                {
                    "type": "voice",
                    "target": target,
                    "params": {"wind_speed_ms": wind, "frequency_hz": tone},
                },
            ),
        ]

    def _complete(self, element):
        return element["built"] == "voiced"

    def _fills(self, req, key, state):
        e = state["placed"][key]
        if key not in req["zone"] or e["role"] != req["role"]:
            return False
        role, sp = self.roles[e["role"]], self.species[e["species"]]
        band = req.get("tone_hz")
        return (
            e["stage"] in role.stages
            and e["height_m"] >= role.min_height_m
            and (not role.poisonous or sp.poisonous)
            and (
                not role.needs_leaves
                or (e["leaves"] != "bare" and e["crown_radius_m"] >= role.min_crown_m)
            )
            and (
                band is None
                or band[0] <= self._tone(state["wind_ms"], e["branch_diameter_m"]) <= band[1]
            )
        )

    # ----- rules and transitions -------------------------------------------------------------

    def check_action(self, state: dict[str, Any], action: BaseModel) -> list[Violation]:
        a: TreeAction = action  # type: ignore[assignment]
        cells = state["cells"]
        index = int(a.target[1:])
        if index >= len(cells):
            return [self.violation("cell.unknown", f"no cell {a.target} in this scene")]
        cell = cells[index]
        element = state["placed"].get(cell["id"])
        if isinstance(a.params, PlantParams):
            return self._check_plant(state, cell, element, a.params)
        before = "planted" if a.type == "shape" else "shaped"
        if element is None or element["built"] != before:
            built = element["built"] if element else "empty"
            return [self.violation("order.sequence", f"{a.type} needs a {before} tree; {built}")]
        if isinstance(a.params, ShapeParams):
            return self._check_shape(state, cell, element, a.params, a.timing.month)
        return self._check_voice(state, element, a.params)

    def _shaded(self, state: dict, cell: dict, sp: SpeciesRow) -> bool:
        """Is ``cell`` beside a finished, leafy canopy crown wide enough to shade it?"""
        placed = state["placed"]
        for nid in fl.neighbours4(cell, state["cells"], state["width"]):
            n = placed.get(nid)
            if (
                n is not None
                and n["built"] != "planted"
                and self.layer_rank[n["layer"]] < self.layer_rank[sp.layer]
                and n["crown_radius_m"] >= self.shade_min_crown
                and n["leaves"] != "bare"
            ):
                return True
        return False

    def _check_plant(self, state, cell, element, p: PlantParams) -> list[Violation]:
        v = self.violation
        if self.blocking.intersection(cell["features"]):
            return [
                v("cell.blocked", f"{cell['id']} is {cell['features'][0]}: nothing grows on it")
            ]
        if element is not None:
            return [v("cell.occupied", f"{cell['id']} already holds a {element['species']}")]
        sp, stage = self.species.get(p.species), self.stages.get(p.stage)
        if sp is None or stage is None:
            return [v("vocab.unknown", f"unknown species or stage {p.species!r}/{p.stage!r}")]
        out = []
        if state["biome"] not in sp.biomes:
            out.append(v("species.biome", f"{sp.id} does not grow in {state['biome']}"))
        if cell["moisture"] not in sp.moisture:
            out.append(
                v("habitat.moisture", f"{sp.id} needs {sp.moisture}, not {cell['moisture']}")
            )
        if cell["soil"] not in sp.soils:
            out.append(v("habitat.soil", f"{sp.id} prefers {sp.soils}, cell is {cell['soil']}"))
        if sp.needs_shade and not self._shaded(state, cell, sp):
            out.append(v("understory.shade", f"{sp.id} needs a finished leafy canopy beside it"))
        lo, hi = fl.stage_band(stage, *sp.height_m)
        if p.height_m > sp.height_m[1]:
            out.append(v("height.max", f"{sp.id} grows to {sp.height_m[1]} m"))
        elif not lo <= p.height_m <= hi:
            rule = "height.stage_uncertain" if sp.height_uncertain else "height.stage"
            out.append(v(rule, f"a {p.stage} {sp.id} is {lo:.2f}-{hi:.2f} m, not {p.height_m}"))
        slender = p.height_m / p.trunk_diameter_m
        low, high = self.structure.slenderness
        if not low <= slender <= high:
            out.append(
                v("structure.slenderness", f"height/trunk {slender:.0f} not in {low}-{high}")
            )
        role = self.roles[p.role]
        if (
            p.stage not in role.stages
            or (role.poisonous and not sp.poisonous)
            or p.height_m < role.min_height_m
        ):
            out.append(
                v("role.eligible", f"a {p.stage} {sp.id} of {p.height_m} m can't be {p.role}")
            )
        return out

    def _check_shape(self, state, cell, e, p: ShapeParams, month: int) -> list[Violation]:
        v, s, m = self.violation, self.structure, state["month"]
        sp, stage = self.species[e["species"]], self.stages[e["stage"]]
        out = []
        if month != m:
            out.append(v("timing.month", f"the scene is month {m}, not {month}"))
        if p.branch_diameter_m >= e["trunk_diameter_m"]:
            out.append(v("structure.branch", f"branch {p.branch_diameter_m} m >= trunk"))
        crown_ratio = p.crown_radius_m / e["height_m"]
        if not s.crown_ratio[0] <= crown_ratio <= s.crown_ratio[1]:
            out.append(
                v("structure.crown", f"crown/height {crown_ratio:.2f} not in {s.crown_ratio}")
            )
        root_ratio = p.root_spread_m / max(p.crown_radius_m, 1e-9)
        if not s.root_ratio[0] <= root_ratio <= s.root_ratio[1]:
            out.append(v("structure.roots", f"roots/crown {root_ratio:.2f} not in {s.root_ratio}"))
        if p.root_form == "knees" and not sp.knees:
            out.append(v("roots.form", f"{sp.id} grows no knees"))
        elif sp.knees and cell["moisture"] == "wet" and p.root_form != "knees":
            out.append(v("roots.knees_expected", f"a {sp.id} in a wet cell shows knees"))
        calendar = self.calendar[sp.phenology]
        expected = calendar.expected[m - 1] if stage.alive else "bare"
        if p.leaves != expected:
            soft = stage.alive and p.leaves in calendar.accepted[m - 1]
            rule = "leaves.shoulder" if soft else "leaves.season"
            out.append(v(rule, f"a {e['stage']} {sp.id} is {expected} in month {m}"))
        if p.leaf_colour not in self.colours:
            out.append(v("vocab.unknown", f"unknown leaf colour {p.leaf_colour!r}"))
        else:
            allowed = sp.autumn_colours if p.leaves == "autumn" else self.leaf_colours[p.leaves]
            if p.leaf_colour not in allowed:
                out.append(v("leaves.colour", f"{p.leaves} {sp.id} leaves are {allowed}"))
        return out

    def _check_voice(self, state, e, p: VoiceParams) -> list[Violation]:
        wind, out = state["wind_ms"], []
        if abs(p.wind_speed_ms - wind) > self.aeolian.wind_match_ms:
            out.append(self.violation("wind.scene", f"the scene's wind is {wind} m/s"))
        tone = self._tone(wind, e["branch_diameter_m"])
        if abs(p.frequency_hz - tone) > self.aeolian.rel_tol * tone:
            out.append(self.violation("tone.aeolian", f"0.2 U/d = {tone:.1f} Hz"))
        return out

    def apply(self, state, action):
        a: TreeAction = action  # type: ignore[assignment]
        placed = state["placed"]
        change = a.params.model_dump()
        if a.type == "plant":
            change |= {"layer": self.species[a.params.species].layer, "built": "planted"}
            element = change
        else:
            change["built"] = "shaped" if a.type == "shape" else "voiced"
            element = {**placed[a.target], **change}
        return {**state, "placed": {**placed, a.target: element}}, {a.target: dict(change)}

    # ----- baselines and probes --------------------------------------------------------------

    def random_action(self, rng: random.Random, state: dict[str, Any]) -> dict[str, Any]:
        target = rng.choice(state["cells"])["id"]
        kind = rng.choice(["plant", "shape", "voice"])
        if kind == "plant":
            params = {
                "species": rng.choice(list(self.species)),
                "stage": rng.choice(list(self.stages)),
                "height_m": round(10 ** rng.uniform(-1, 1.6), 2),
                "trunk_diameter_m": round(10 ** rng.uniform(-2, 0.3), 3),
                "role": rng.choice(list(self.roles)),
            }
            return {"type": kind, "target": target, "params": params}
        if kind == "voice":
            wind = state["wind_ms"] if rng.random() < 0.5 else round(rng.uniform(0, 40), 1)
            params = {"wind_speed_ms": wind, "frequency_hz": round(rng.uniform(20, 4000), 1)}
            return {"type": kind, "target": target, "params": params}
        params = {
            "crown_radius_m": round(rng.uniform(0.2, 12), 2),
            "branch_diameter_m": round(10 ** rng.uniform(-2.5, -0.5), 4),
            "root_spread_m": round(rng.uniform(0.2, 20), 2),
            "root_form": rng.choice(["lateral", "knees"]),
            "leaves": rng.choice(["bare", "budding", "full", "autumn"]),
            "leaf_colour": rng.choice(sorted(self.colours)),
        }
        month = state["month"] if rng.random() < 0.5 else rng.randint(1, 12)
        return {"type": kind, "target": target, "params": params, "timing": {"month": month}}

    def saturated_action(self, scenario: Scenario) -> dict[str, Any]:
        req = scenario.state["brief"][0]
        params = {
            "species": self.biome_species[scenario.state["biome"]][0].id,
            "stage": "mature",
            "height_m": fl.field_max(PlantParams, "height_m"),
            "trunk_diameter_m": fl.field_max(PlantParams, "trunk_diameter_m"),
            "role": req["role"],
        }
        return {"type": "plant", "target": req["zone"][0], "params": params}

    def forbidden_actions(self, scenario, state):
        biome, month, placed = state["biome"], state["month"], state["placed"]
        free = [
            c["id"]
            for c in state["cells"]
            if not self.blocking.intersection(c["features"]) and c["id"] not in placed
        ]
        out = []
        shady = [s for s in self.species.values() if s.needs_shade]
        for sp in [next(s for s in self.species.values() if biome not in s.biomes), *shady]:
            height = _mid(sp.height_m)
            params = {"species": sp.id, "stage": "mature", "height_m": height}
            trunk = round(height / _mid(self.structure.slenderness), 3)
            params |= {"trunk_diameter_m": trunk, "role": "backdrop"}
            cells = [c for c in free if not self._shaded(state, state["cells"][int(c[1:])], sp)]
            if cells:
                out.append({"type": "plant", "target": cells[0], "params": params})
        # Leaves against the calendar, e.g. a deciduous tree in full leaf in January.
        planted = sorted(k for k, e in placed.items() if e["built"] == "planted")
        target = planted[0] if planted else (free or ["c0"])[0]
        # With nothing planted yet, shaping an empty cell is itself out of order.
        sp = (
            self.species[placed[target]["species"]]
            if planted
            else next(iter(self.species.values()))
        )
        calendar = self.calendar[sp.phenology]
        allowed = {calendar.expected[month - 1], *calendar.accepted[month - 1]}
        leaves = next(x for x in ("full", "bare", "autumn", "budding") if x not in allowed)
        shape = {"crown_radius_m": 3.0, "branch_diameter_m": 0.005, "root_spread_m": 4.0}
        shape |= {"root_form": "lateral", "leaves": leaves, "leaf_colour": "green"}
        timing = {"month": month}
        out.append({"type": "shape", "target": target, "params": shape, "timing": timing})
        return out
