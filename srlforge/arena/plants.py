"""Plants: dress a scene's cells with plants for a biome and a month to fill a brief of roles.

Every plant takes two dependent steps: ``place`` (species, stage, height, count, role, host) and
``dress`` (bloom and foliage for the month). Cells are built top-down by layer, and climbers and
epiphytes need a host already standing there, so reordering, dropping or repeating steps breaks
the scene. All thresholds and vocabularies come from ``rules/data/<v>/plants.yaml``.
"""

from __future__ import annotations

import math
import random
from typing import Any, ClassVar

from pydantic import BaseModel

from srlforge.arena import _flora as fl
from srlforge.arena._plants_model import (
    BiomeRow,
    DressParams,
    FoliageRow,
    LayerRow,
    LightTable,
    PlaceParams,
    PlantAction,
    RoleTable,
    SceneTreeRow,
    SpeciesRow,
)
from srlforge.rules import RuleSet
from srlforge.schema import Scenario, Violation


class PlantsArena(fl.FloraArena):
    model_type: ClassVar[str] = "plants"
    action_model: ClassVar[type[BaseModel]] = PlantAction
    description: ClassVar[str] = (
        "Plants for a biome and month: placement, growth, phenology, roles."
    )
    steps_per_element: ClassVar[int] = 2

    def _load_species(self, rules: RuleSet) -> None:
        t = self.model_type
        self.biomes = {b.id: b for b in rules.table(t, "biomes", fl.Rows[BiomeRow]).rows}
        self.trees = {r.id: r for r in rules.table(t, "scene_trees", fl.Rows[SceneTreeRow]).rows}
        self.light = rules.table(t, "light", LightTable)
        self.layers = {r.id: r for r in rules.table(t, "layers", fl.Rows[LayerRow]).rows}
        self.species = {r.id: r for r in rules.table(t, "species", fl.Rows[SpeciesRow]).rows}
        calendar = rules.table(t, "foliage_calendar", fl.Rows[FoliageRow]).rows
        self.calendar = {r.habit: r for r in calendar}
        roles = rules.table(t, "roles", RoleTable)
        self.roles = {r.id: r for r in roles.rows}
        self.visible = frozenset(roles.visible_foliage)
        for sp in self.species.values():
            for path, bad in (
                ("biomes", set(sp.biomes) - self.biomes.keys()),
                ("habit", {sp.habit} - self.calendar.keys()),
                ("layer", {sp.layer} - self.layers.keys()),
                ("host", set(sp.host.tree_species if sp.host else ()) - self.trees.keys()),
            ):
                if bad:
                    raise self._where(f"tables.species[{sp.id}].{path}", sorted(bad))
        for b in self.biomes.values():
            if set(b.scene_trees) - self.trees.keys():
                raise self._where(f"tables.biomes[{b.id}].scene_trees", b.scene_trees)
        self.biome_species = {
            b: [s for s in self.species.values() if b in s.biomes] for b in self.biomes
        }
        self.biome_ids = [b for b, sps in self.biome_species.items() if sps]

    # ----- light, hosts, phenology -----------------------------------------------------------

    def _cell_light(self, habit: str | None, month: int) -> str:
        levels = self.light.levels
        if habit is None:
            return levels[0]
        closed = habit == "evergreen" or month in self.light.canopy_closed_months
        return levels[-1] if closed else levels[1]

    def _layer_light(self, cell: dict, placed: dict, rank: int) -> str:
        """The cell's light, dimmed one level by each shading layer built above ``rank``."""
        levels = self.light.levels
        cid = cell["id"]
        shade = 0
        for key, e in placed.items():
            layer = self.layers[e["layer"]]
            shade += key.split(":")[0] == cid and layer.shades_below and layer.rank < rank
        return levels[min(len(levels) - 1, levels.index(cell["light"]) + shade)]

    def _host_height(self, cell: dict, sp: SpeciesRow, kind: str) -> float | None:
        """Height of a ``kind`` host ``sp`` may use in ``cell``; None when there is none."""
        if sp.host is None or kind not in sp.host.kinds:
            return None
        tree = cell.get("tree")
        if kind == "tree" and tree:
            ok = not sp.host.tree_species or tree["species"] in sp.host.tree_species
            return tree["height_m"] if ok else None
        return cell.get("wall_m") if kind == "wall" else None

    def _host_for(self, cell: dict, sp: SpeciesRow) -> tuple[str | None, float]:
        """(host kind the expert uses, its height); ("none", inf) for a free-standing plant."""
        if sp.host is None:
            return "none", math.inf
        for kind in sp.host.kinds:
            height = self._host_height(cell, sp, kind)
            if height is not None:
                return kind, height
        return None, 0.0

    def _visible(self, sp: SpeciesRow, month: int) -> bool:
        return self.calendar[sp.habit].by_month[month - 1] in self.visible

    def _certain_bloom(self, sp: SpeciesRow, month: int) -> str:
        if month in sp.flower_months and month not in sp.flower_uncertain:
            return "flowering"
        if month in sp.fruit_months and month not in sp.fruit_uncertain:
            return "fruiting"
        return "none"

    # ----- FloraArena hooks ------------------------------------------------------------------

    def _scene(self, rng, level, biome, month):
        b = self.biomes[biome]
        cells, zones = fl.build_grid(rng, level, b.moisture, b.soils)
        for cell in cells:
            tree = None
            if not cell["features"]:
                if b.scene_trees and rng.random() < b.tree_chance:
                    tree = rng.choice(b.scene_trees)
                elif rng.random() < b.wall_chance:
                    cell["features"] = ["wall"]
                    cell["wall_m"] = self.light.wall_height_m
            self._set_tree(cell, tree, month)
        return {"biome": biome, "month": month, "cells": cells, "_zones": zones}

    def _set_tree(self, cell: dict, tree_id: str | None, month: int) -> None:
        if tree_id is None:
            cell.pop("tree", None)
        else:
            row = self.trees[tree_id]
            cell["tree"] = {"species": row.id, "habit": row.habit, "height_m": row.height_m}
        cell["light"] = self._cell_light(tree_id and self.trees[tree_id].habit, month)

    def _role_ok(self, sp: SpeciesRow, role: str, month: int) -> bool:
        r = self.roles[role]
        return (
            (not r.poisonous or sp.poisonous)
            and (not r.visible or self._visible(sp, month))
            and (not r.in_bloom or self._certain_bloom(sp, month) != "none")
            and sp.height_m[1] >= r.min_height_m
        )

    def _role_species(self, biome, role, month):
        return [sp for sp in self.biome_species[biome] if self._role_ok(sp, role, month)]

    def _fit_cell(self, rng, cell, sp, biome, month):
        b = self.biomes[biome]
        cell["moisture"] = rng.choice([m for m in sp.moisture if m in b.moisture] or sp.moisture)
        cell["soil"] = rng.choice([s for s in sp.soils if s in b.soils] or sp.soils)
        if sp.host is not None:
            allowed = sp.host.tree_species
            trees = [t for t in b.scene_trees if not allowed or t in allowed]
            kinds = [k for k in sp.host.kinds if k == "wall" or trees]
            if rng.choice(kinds) == "wall":
                cell["features"] = ["wall"]
                cell["wall_m"] = self.light.wall_height_m
            else:
                self._set_tree(cell, rng.choice(trees), month)
        elif sp.needs_canopy is not None:
            trees = [t for t in b.scene_trees if self.trees[t].habit == sp.needs_canopy]
            self._set_tree(cell, rng.choice(trees) if trees else None, month)
        elif cell["light"] not in sp.light:
            options = [None, *b.scene_trees]
            fit = [
                t for t in options if self._cell_light(t and self.trees[t].habit, month) in sp.light
            ]
            self._set_tree(cell, rng.choice(fit) if fit else None, month)

    def _fits(self, cell, sp, role, month):
        host, host_h = self._host_for(cell, sp)
        tree = cell.get("tree")
        return (
            host is not None
            and cell["moisture"] in sp.moisture
            and cell["soil"] in sp.soils
            and cell["light"] in sp.light
            and (sp.needs_canopy is None or (tree is not None and tree["habit"] == sp.needs_canopy))
            and min(sp.height_m[1], host_h) >= self.roles[role].min_height_m
            and self._role_ok(sp, role, month)
        )

    def _rank(self, sp):
        return self.layers[sp.layer].rank

    def _element_actions(self, state, req, cell, sp):
        month, role = state["month"], req["role"]
        host, host_h = self._host_for(cell, sp)
        if host == "none":
            lo, hi = fl.stage_band(self.stages["mature"], *sp.height_m)
            height = round(max((lo + hi) / 2, self.roles[role].min_height_m), 2)
            support = ""
        else:
            cap = min(sp.height_m[1], host_h)
            height = round(max(cap / 2, self.roles[role].min_height_m), 2)
            support = f", climbing its {host} host ({host_h} m)"
        place = {
            "type": "place",
            "target": cell["id"],
            "params": {
                "species": sp.id,
                "stage": "mature",
                "height_m": height,
                "count": math.ceil(sp.max_per_cell / 2),
                "role": role,
                "host": host,
            },
        }
        bloom = self._certain_bloom(sp, month)
        foliage = self.calendar[sp.habit].by_month[month - 1]
        dress = {
            "type": "dress",
            "target": cell["id"],
            "params": {"species": sp.id, "bloom": bloom, "foliage": foliage},
            "timing": {"month": month},
        }
        window = f"flowers in months {sp.flower_months}" if sp.flower_months else "never blooms"
        return [
            (
                f"{role} {req['where']}: {sp.id} grows in {state['biome']} and suits cell "
                f"{cell['id']} ({cell['moisture']}, {cell['soil']}, {cell['light']} light)"
                f"{support}; mature at {height} m (plant table, {sp.layer} layer).",
                place,
            ),
            (
                f"Month {month}: {sp.id} {window}, so it shows '{bloom}'; its {sp.habit} "
                f"foliage is {foliage} this month.",
                dress,
            ),
        ]

    def _complete(self, element):
        return element.get("dressed", False)

    def _fills(self, req, key, state):
        e = state["placed"][key]
        if key.split(":")[0] not in req["zone"] or e["role"] != req["role"]:
            return False
        sp, role, stage = self.species[e["species"]], self.roles[e["role"]], self.stages[e["stage"]]
        return (
            (not role.poisonous or sp.poisonous)
            and (not role.visible or (stage.alive and self._visible(sp, state["month"])))
            and e["height_m"] >= role.min_height_m
            and (not role.in_bloom or e["bloom"] != "none")
        )

    # ----- rules and transitions -------------------------------------------------------------

    def check_action(self, state: dict[str, Any], action: BaseModel) -> list[Violation]:
        a: PlantAction = action  # type: ignore[assignment]
        cells = state["cells"]
        index = int(a.target[1:])
        if index >= len(cells):
            return [self.violation("cell.unknown", f"no cell {a.target} in this scene")]
        sp = self.species.get(a.params.species)
        if sp is None:
            return [self.violation("vocab.unknown", f"unknown species {a.params.species!r}")]
        if isinstance(a.params, PlaceParams):
            return self._check_place(state, cells[index], sp, a.params)
        return self._check_dress(state, cells[index], sp, a.params, a.timing.month)

    def _check_place(self, state, cell, sp: SpeciesRow, p: PlaceParams) -> list[Violation]:
        v = self.violation
        if self.blocking.intersection(cell["features"]):
            return [
                v("cell.blocked", f"{cell['id']} is {cell['features'][0]}: nothing grows on it")
            ]
        stage = self.stages.get(p.stage)
        if stage is None:
            return [v("vocab.unknown", f"unknown stage {p.stage!r}")]
        out = []
        if state["biome"] not in sp.biomes:
            out.append(v("species.biome", f"{sp.id} does not grow in {state['biome']}"))
        if cell["moisture"] not in sp.moisture:
            out.append(
                v("habitat.moisture", f"{sp.id} needs {sp.moisture}, cell is {cell['moisture']}")
            )
        if cell["soil"] not in sp.soils:
            out.append(v("habitat.soil", f"{sp.id} prefers {sp.soils}, cell is {cell['soil']}"))
        layer, placed, cid = self.layers[sp.layer], state["placed"], cell["id"]
        if f"{cid}:{layer.id}" in placed:
            out.append(v("layer.occupied", f"{cid} already has a {layer.id} plant"))
        if any(
            k.split(":")[0] == cid and self.layers[e["layer"]].rank > layer.rank
            for k, e in placed.items()
        ):
            out.append(v("layer.order", f"{cid} has a lower layer built; {layer.id} goes first"))
        light = self._layer_light(cell, placed, layer.rank)
        if light not in sp.light:
            out.append(v("habitat.light", f"{sp.id} wants {sp.light}, gets {light}"))
        tree = cell.get("tree")
        if sp.needs_canopy and (tree is None or tree["habit"] != sp.needs_canopy):
            out.append(v("habitat.canopy", f"{sp.id} grows under a {sp.needs_canopy} canopy"))
        if sp.host is None and p.host != "none":
            out.append(v("host.required", f"{sp.id} is free-standing; host must be 'none'"))
        elif sp.host is not None:
            host_h = self._host_height(cell, sp, p.host)
            if host_h is None:
                out.append(v("host.required", f"{sp.id} needs a {sp.host.kinds} host in {cid}"))
            elif p.height_m > host_h:
                out.append(v("host.height", f"{p.height_m} m is above its {host_h} m host"))
        if p.height_m > sp.height_m[1]:
            out.append(v("height.max", f"{sp.id} grows to {sp.height_m[1]} m"))
        elif sp.host is None:
            lo, hi = fl.stage_band(stage, *sp.height_m)
            if not lo <= p.height_m <= hi:
                rule = "height.stage_uncertain" if sp.height_lo_assumed else "height.stage"
                out.append(v(rule, f"a {p.stage} {sp.id} is {lo:.2f}-{hi:.2f} m"))
        if p.count > sp.max_per_cell:
            out.append(v("count.max", f"at most {sp.max_per_cell} {sp.id} per cell"))
        role = self.roles[p.role]
        if (
            (not stage.alive and not role.dead_ok)
            or (role.poisonous and not sp.poisonous)
            or p.height_m < role.min_height_m
        ):
            out.append(
                v("role.eligible", f"a {p.stage} {sp.id} of {p.height_m} m can't be {p.role}")
            )
        return out

    def _check_dress(self, state, cell, sp: SpeciesRow, p: DressParams, month) -> list[Violation]:
        v = self.violation
        e = state["placed"].get(f"{cell['id']}:{sp.layer}")
        if e is None or e["species"] != sp.id or e["dressed"]:
            why = "is already dressed" if e and e["species"] == sp.id else "is not placed"
            return [v("order.sequence", f"{sp.id} in {cell['id']} {why}")]
        m, stage, out = state["month"], self.stages[e["stage"]], []
        if month != m:
            out.append(v("timing.month", f"the scene is month {m}, not {month}"))
        if p.bloom != "none":
            flowering = p.bloom == "flowering"
            window = sp.flower_months if flowering else sp.fruit_months
            edge = sp.flower_uncertain if flowering else sp.fruit_uncertain
            if m not in window:
                rule = "phenology.flowering" if flowering else "phenology.fruiting"
                out.append(v(rule, f"{sp.id} is {p.bloom} only in months {window}, not {m}"))
            elif not stage.can_flower:
                out.append(v("phenology.maturity", f"a {e['stage']} {sp.id} can't be {p.bloom}"))
            elif m in edge:
                out.append(v("phenology.edge", f"month {m} is a vague edge of the window"))
        elif stage.can_flower and self._certain_bloom(sp, m) != "none":
            out.append(v("phenology.missed", f"a mature {sp.id} is in bloom in month {m}"))
        calendar = self.calendar[sp.habit]
        expected = calendar.by_month[m - 1] if stage.alive else "dead"
        if p.foliage != expected:
            hard = calendar.certain or not stage.alive or p.foliage == "dead"
            rule = "foliage.habit" if hard else "foliage.season"
            out.append(v(rule, f"{sp.id} ({e['stage']}) shows {expected} foliage in month {m}"))
        return out

    def apply(self, state, action):
        a: PlantAction = action  # type: ignore[assignment]
        p, placed = a.params, state["placed"]
        key = f"{a.target}:{self.species[p.species].layer}"
        if isinstance(p, PlaceParams):
            change = {**p.model_dump(), "layer": self.species[p.species].layer, "dressed": False}
            element = change
        else:
            change = {"bloom": p.bloom, "foliage": p.foliage, "dressed": True}
            element = {**placed[key], **change}
        return {**state, "placed": {**placed, key: element}}, {key: dict(change)}

    # ----- baselines and probes --------------------------------------------------------------

    def random_action(self, rng: random.Random, state: dict[str, Any]) -> dict[str, Any]:
        target = rng.choice(state["cells"])["id"]
        species = rng.choice(list(self.species))
        if rng.random() < 0.5:
            params = {
                "species": species,
                "stage": rng.choice(list(self.stages)),
                "height_m": round(10 ** rng.uniform(-1.5, 1.4), 2),
                "count": rng.randint(1, 60),
                "role": rng.choice(list(self.roles)),
                "host": rng.choice(["none", "wall", "tree"]),
            }
            return {"type": "place", "target": target, "params": params}
        month = state["month"] if rng.random() < 0.5 else rng.randint(1, 12)
        params = {
            "species": species,
            "bloom": rng.choice(["none", "flowering", "fruiting"]),
            "foliage": rng.choice(["green", "autumn", "dormant", "grey", "dead"]),
        }
        return {"type": "dress", "target": target, "params": params, "timing": {"month": month}}

    def saturated_action(self, scenario: Scenario) -> dict[str, Any]:
        req = scenario.state["brief"][0]
        params = {
            "species": self.biome_species[scenario.state["biome"]][0].id,
            "stage": "mature",
            "height_m": fl.field_max(PlaceParams, "height_m"),
            "count": fl.field_max(PlaceParams, "count"),
            "role": req["role"],
            "host": "none",
        }
        return {"type": "place", "target": req["zone"][0], "params": params}

    def forbidden_actions(self, scenario, state):
        biome, month = state["biome"], state["month"]
        free = [c for c in state["cells"] if not self.blocking.intersection(c["features"])]
        out = []
        outside = next(s for s in self.species.values() if biome not in s.biomes)
        lo, hi = fl.stage_band(self.stages["mature"], *outside.height_m)
        host = outside.host.kinds[0] if outside.host else "none"
        params = {"species": outside.id, "stage": "mature", "height_m": round((lo + hi) / 2, 2)}
        params |= {"count": 1, "role": "ambience", "host": host}
        out.append({"type": "place", "target": free[0]["id"], "params": params})
        for epiphyte in (s for s in self.species.values() if s.host and "wall" not in s.host.kinds):
            bare = [c for c in free if self._host_height(c, epiphyte, "tree") is None]
            if bare:
                params = {"species": epiphyte.id, "stage": "mature", "height_m": 1.0, "count": 1}
                params |= {"role": "ambience", "host": "tree"}
                out.append({"type": "place", "target": bare[0]["id"], "params": params})
        undressed = [(k, e) for k, e in sorted(state["placed"].items()) if not e["dressed"]]
        key, e = undressed[0] if undressed else (f"{free[0]['id']}:", {"species": outside.id})
        sp = self.species[e["species"]]
        bloom = "flowering" if month not in sp.flower_months else "fruiting"
        if bloom == "fruiting" and month in sp.fruit_months:
            bloom, foliage = "none", "dead"  # an alive plant shown dead breaks its habit rule
        else:
            foliage = self.calendar[sp.habit].by_month[month - 1]
        params = {"species": sp.id, "bloom": bloom, "foliage": foliage}
        target = key.split(":")[0]
        out.append(
            {"type": "dress", "target": target, "params": params, "timing": {"month": month}}
        )
        return out
