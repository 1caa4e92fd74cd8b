"""Facial performance arena: an emotion brief -> keyframes of FACS AUs, ARKit weights and timing.

A scenario asks a species' face (vampire, werewolf, zombie, ghoul, lich) to show a felt emotion
genuinely, suppressed into a micro-expression, masked by a posed one, or blended with a second,
inside a beat window. Each step is one keyframe of the display mode's phase sequence (onset ->
apex -> [mask | blend] -> offset): AU codes at A-E bands, the blendshape weights those bands
imply, and when the pose is reached and how long it is held. The simulator carries the face
(pose, weights, time) forward, so every phase is checked against the one before it: the onset
must rise toward the apex, the apex must dominate the onset, a blend layers onto the apex, a mask
must land while the leak is still a micro-expression, and the offset returns to rest. Every
threshold and vocabulary comes from ``rules/data/<version>/facial.yaml``.
"""

from __future__ import annotations

import random
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from srlforge.arena._facial_baselines import (
    forbidden_keyframes,
    random_keyframe,
    saturated_keyframe,
)
from srlforge.arena._facial_plan import (
    Brief,
    enumerate_briefs,
    expert_keyframes,
    merge,
)
from srlforge.arena._facial_rules import NEUTRAL, FacialRules, compile_rules
from srlforge.arena._facial_think import think_for
from srlforge.arena.base import Arena, Judgement, Replay
from srlforge.rules import RuleFileError, RuleSet
from srlforge.schema import Scenario, Step, Violation

AuCode = Annotated[str, StringConstraints(pattern=r"^[LR]?[1-9][0-9]?$")]
ShapeName = Annotated[str, StringConstraints(pattern=r"^[a-z][A-Za-z]{2,23}$")]
Weight = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Seconds = Annotated[float, Field(ge=0.0, le=10.0, allow_inf_nan=False)]
# Floats read back from a blendshape exporter: a band edge may be off by float noise.
EPS = 1e-6


class Pose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aus: dict[AuCode, Literal["A", "B", "C", "D", "E"]] = Field(
        max_length=40, description="FACS AU code ('12', or 'R12'/'L12' unilateral) -> band A-E."
    )
    blendshapes: dict[ShapeName, Weight] = Field(
        max_length=52, description="ARKit blendshape name -> weight 0-1; absent means 0."
    )


class Timing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: Seconds = Field(description="Seconds from the expression's start: pose reached.")
    end: Seconds = Field(description="Seconds: pose held until (>= start).")


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(max_length=200)


class FacialAction(BaseModel):
    """One keyframe of the facial performance."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["onset", "apex", "blend", "mask", "offset"]
    target: str = Field(pattern=r"^[a-z]{3,16}$", description="Emotion shown, or 'neutral'.")
    params: Pose
    timing: Timing
    metadata: Note | None = None


class FacialArena(Arena):
    model_type = "facial"
    action_model = FacialAction
    uses_species = True
    description = "Emotion brief -> FACS/ARKit keyframes with onset/apex/offset timing."

    def load_rules(self, rules: RuleSet) -> None:
        self.fr: FacialRules = compile_rules(rules)
        briefs = {sp: enumerate_briefs(self.fr, sp) for sp in self.fr.species}
        self._catalogue: dict[int, tuple[list[str], dict[str, list[Brief]]]] = {}
        for level, row in self.fr.difficulty.items():
            per: dict[str, list[Brief]] = {}
            for species, options in briefs.items():
                fits = [b for b in options if self._fits(b, row)]
                preferred = [
                    b
                    for b in fits
                    if ("variant_forced" in row.prefer and b.forced)
                    or ("conflict" in row.prefer and b.conflict)
                ]
                if preferred or fits:
                    per[species] = preferred or fits
            if not per:
                raise RuleFileError(
                    f"{rules.root / 'facial.yaml'}: at tables.difficulty: level {level} has no "
                    "brief any species' rig can perform"
                )
            self._catalogue[level] = (list(per), per)

    @staticmethod
    def _fits(brief: Brief, row: Any) -> bool:
        f = brief.fields
        second = f.get("shown_intensity") or f.get("secondary_intensity")
        return (
            f["display"] in row.modes
            and f["felt_intensity"] in row.intensities
            and (second is None or second in row.intensities)
        )

    # ----- scenarios ---------------------------------------------------------------------------

    def generate(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        fr = self.fr
        row = fr.difficulty[difficulty]
        species_list, per = self._catalogue[difficulty]
        species = rng.choice(species_list)
        brief = rng.choice(per[species])
        mode = fr.modes[brief.fields["display"]]
        beat = None
        if mode.beat:
            # The beat ends the expression, so it lies inside the offset's window (macro
            # 0.5-4 s), kept 50 ms clear of that window's exclusive upper edge.
            cap = mode.windows["offset"][2] - 0.05
            latest = max(fr.beat_earliest_s, cap - row.beat_width_s)
            lo = round(rng.uniform(fr.beat_earliest_s, latest), 2)
            beat = {"min_s": lo, "max_s": round(min(lo + row.beat_width_s, cap), 2)}
        rig = fr.rig_for(species)
        state = {
            "species": species,
            "persona": rig.persona,
            "context": rng.choice(fr.contexts[mode.name]),
            "brief": dict(brief.fields),
            "beat": beat,
            "phase": NEUTRAL,
            "time": 0.0,
            "reached": 0.0,
            "pose": {},
            "weights": {},
        }
        f = brief.fields
        what = f"{f['felt']} ({f['felt_intensity']})"
        if "shown" in f:
            what += f" masked by posed {f['shown']} ({f['shown_intensity']})"
        elif "secondary" in f:
            what += f" blended with {f['secondary']} ({f['secondary_intensity']})"
        windows = "".join(
            f"; {kind} reached in the {cls} window [{lo}, {hi}) s"
            for kind, (cls, lo, hi) in mode.windows.items()
        )
        when = f"; end between {beat['min_s']} and {beat['max_s']} s" if beat else ""
        phases = " -> ".join(p.kind for p in mode.phases)
        return {
            "species": species,
            "objective": (
                f"Animate a {species}'s {what} ({mode.name} display) as keyframes {phases}"
                f"{windows}{when}."
            ),
            "state": state,
            "max_steps": len(mode.phases),
            "metadata": {
                "display": mode.name,
                "felt": f["felt"],
                "felt_intensity": f["felt_intensity"],
                "second": f.get("shown") or f.get("secondary"),
                "n_phases": len(mode.phases),
                "rig_limited": bool(rig.unsupported or rig.caps),
                "variant_forced": brief.forced,
                "conflict": brief.conflict,
                "beat_width_s": row.beat_width_s if beat else None,
            },
        }

    def initial_state(self, scenario: Scenario) -> dict[str, Any]:
        # `marks` (hidden): whether each completed phase showed what it had to.
        return {**scenario.state, "marks": []}

    # ----- the rules ---------------------------------------------------------------------------

    def check_action(self, state: dict[str, Any], action: BaseModel) -> list[Violation]:
        fr = self.fr
        out: list[Violation] = []
        aus: dict[str, str] = action.params.aus
        shapes: dict[str, float] = action.params.blendshapes
        rig = fr.rig_for(state["species"])
        rank, code_base = fr.rank, fr.code_base
        bare, lateral = set(), set()
        # blendshape -> the weight intervals its active AUs allow (26 and 27 both drive jawOpen;
        # the weight must match one of them)
        expected: dict[str, list[tuple[float, float, bool]]] = {}
        for code, band in aus.items():
            base = code_base.get(code)
            if base is None:
                out.append(self.violation("au.vocabulary", f"'{code}' is not a FACS AU code here"))
                continue
            (bare if base == code else lateral).add(base)
            if base in rig.unsupported:
                out.append(self.violation("rig.support", f"{rig.species} rig has no AU {base}"))
            elif rank[band] > rig.caps.get(base, 99):
                out.append(self.violation("rig.max_band", f"AU {code}{band} above the rig cap"))
            for bs, lo, hi, _nominal, unc in fr.expected[(code, band)]:
                expected.setdefault(bs, []).append((lo, hi, unc))
        if bare & lateral:
            out.append(self.violation("au.laterality", f"AU {sorted(bare & lateral)} coded twice"))
        for bs, w in shapes.items():
            if bs not in fr.blendshapes:
                out.append(self.violation("blendshape.vocabulary", f"'{bs}' is not ARKit's"))
            elif w > fr.off and bs not in expected:
                rule = "blendshape.uncertain_mapping" if bs in fr.uncertain_only else None
                out.append(self.violation(rule or "blendshape.undriven", f"{bs}={w} has no AU"))
        for bs, allowed in expected.items():
            w = shapes.get(bs, 0.0)
            if not any(lo - EPS <= w <= hi + EPS for lo, hi, _ in allowed):
                certain = not all(unc for *_, unc in allowed)
                rule = "blendshape.consistency" if certain else "blendshape.uncertain_mapping"
                bounds = ", ".join(f"[{lo:.3f}, {hi:.3f}]" for lo, hi, _ in allowed)
                out.append(self.violation(rule, f"{bs}={w} outside {bounds}"))
        uni = fr.unilateral.get(action.target)
        if uni:
            # A bare code moves both sides; contempt is defined by moving only one.
            sides: set[str] = set()
            for code in aus:
                if code_base.get(code) in uni:
                    sides.update(("L", "R") if code == code_base[code] else (code[0],))
            if len(sides) > 1:
                out.append(self.violation("emotion.unilateral", f"{action.target} is bilateral"))
        start, end = action.timing.start, action.timing.end
        if start <= state["time"] or end < start:
            out.append(
                self.violation("timing.order", f"keyframe [{start}, {end}] after {state['time']}")
            )
        else:
            dt = start - state["time"]
            prev = state["weights"]
            off = fr.off
            fastest = max(
                (
                    abs((v if v > off else 0.0) - prev.get(k, 0.0))
                    for k, v in shapes.items()
                    if k in prev or v > off
                ),
                default=0.0,
            )
            gone = max((v for k, v in prev.items() if shapes.get(k, 0.0) <= off), default=0.0)
            if max(fastest, gone) / dt > fr.motion.max_rate_per_s:
                out.append(self.violation("motion.smoothness", f"{max(fastest, gone)} in {dt} s"))
        brief = state["brief"]
        mode = fr.modes[brief["display"]]
        step = len(state["marks"])
        if step >= len(mode.phases) or action.type != mode.phases[step].kind:
            want = mode.phases[step].kind if step < len(mode.phases) else "nothing (done)"
            out.append(self.violation("phase.order", f"got {action.type}, next is {want}"))
            return out
        window = mode.windows.get(action.type)
        if window and not window[1] <= start < window[2]:
            out.append(self.violation("timing.window", f"{action.type} at {start} s not {window}"))
        ok, why, uncertain = self.realise(state, action)
        if not ok:
            out.append(self.violation("emotion.realised", why))
        if uncertain:
            out.append(self.violation("emotion.uncertain_variant", why))
        timing = fr.uncertain_timing
        if mode.micro_onset and action.type == "apex" and start >= timing.micro_onset_max_s:
            out.append(self.violation("timing.micro_onset", f"apex at {start} s"))
        if (
            action.type == "offset"
            and mode.felt_smile
            and timing.smile_emotion in (brief["felt"], brief.get("secondary"))
            and not timing.felt_smile_min_s <= start <= timing.felt_smile_max_s
        ):
            out.append(self.violation("timing.felt_smile", f"felt smile ends at {start} s"))
        return out

    def realise(self, state: dict[str, Any], action: Any) -> tuple[bool, str, bool]:
        """Does the keyframe show its phase's emotion? ``(ok, why_not, used_uncertain_variant)``."""
        fr = self.fr
        brief = state["brief"]
        phase = fr.modes[brief["display"]].phases[len(state["marks"])]
        pose: dict[str, str] = action.params.aus
        if phase.shows == NEUTRAL:
            ok = action.target == NEUTRAL and not pose
            return ok, "the offset returns to a neutral face (no AU active)", False
        emotion, band = brief[phase.shows], brief[phase.shows + "_intensity"]
        if action.target != emotion:
            return False, f"this {phase.kind} shows {emotion}, not {action.target}", False
        if phase.kind == "onset":
            caps = fr.onset_caps[(emotion, band)]
            ok = bool(pose) and all(fr.rank[b] <= caps.get(c, 0) for c, b in pose.items())
            return ok, f"an onset rises toward {emotion} {band} using only its AUs", False
        prev: dict[str, str] = state["pose"]
        for cfg in fr.usable(emotion, band, phase.use):
            if phase.kind == "blend":
                matched = pose == merge(prev, cfg.pose, fr.rank)
            else:
                matched = all(pose.get(c) == b for c, b in cfg.pose.items()) and all(
                    c in cfg.pose or fr.rank[b] <= cfg.optional.get(c, 0) for c, b in pose.items()
                )
            if matched:
                break
        else:
            return False, f"no {phase.use} EMFACS configuration of {emotion} at {band}", False
        rank = fr.rank
        if phase.kind == "apex" and (
            pose == prev or not all(c in pose and rank[pose[c]] >= rank[b] for c, b in prev.items())
        ):
            return False, "the apex must rise above every onset AU", cfg.uncertain
        return True, f"{cfg.name} (disputed variant)", cfg.uncertain

    def apply(
        self, state: dict[str, Any], action: BaseModel
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        marks = state["marks"]
        phases = self.fr.modes[state["brief"]["display"]].phases
        ok = len(marks) < len(phases) and self.realise(state, action)[0]
        off = self.fr.off
        delta = {
            "phase": action.type,
            "reached": action.timing.start,
            "time": action.timing.end,
            "pose": dict(action.params.aus),
            "weights": {k: v for k, v in action.params.blendshapes.items() if v > off},
            "marks": [*marks, ok],
        }
        return {**state, **delta}, delta

    def judge(self, scenario: Scenario, replay: Replay) -> Judgement:
        final = replay.states[-1]
        mode = self.fr.modes[final["brief"]["display"]]
        marks = final["marks"]
        complete = len(marks) == len(mode.phases)
        violations = []
        beat = scenario.state.get("beat")
        in_beat = True
        if complete and mode.beat and beat:
            in_beat = beat["min_s"] <= final["reached"] <= beat["max_s"]
            if not in_beat:
                violations.append(
                    self.violation("timing.beat", f"ends at {final['reached']} s, beat {beat}")
                )
        wasted = sum(1 for v in replay.verdicts if not v.format_valid or v.hard_violation)
        return Judgement(
            objective_met=complete and all(marks) and in_beat,
            suboptimal_moves=wasted + marks.count(False),
            violations=violations,
            details={"phases_done": len(marks), "phases": len(mode.phases), "shown": marks},
        )

    # ----- the expert and the baselines --------------------------------------------------------

    def solve(self, scenario: Scenario) -> list[Step]:
        state = self.initial_state(scenario)
        steps = []
        for frame in expert_keyframes(self.fr, state):
            action = {
                "type": frame.kind,
                "target": frame.target,
                "params": {"aus": frame.pose, "blendshapes": frame.weights},
                "timing": {"start": frame.start, "end": frame.end},
            }
            model = FacialAction.model_validate(action, strict=True)
            think = think_for(self.fr, state, frame)
            state, delta = self.apply(state, model)
            steps.append(Step(think=think, action=action, expected_state_delta=delta))
        return steps

    def random_action(self, rng: random.Random, state: dict[str, Any]) -> dict[str, Any]:
        return random_keyframe(self.fr, rng, state)

    def saturated_action(self, scenario: Scenario) -> dict[str, Any]:
        return saturated_keyframe(self.fr, scenario.state["brief"])

    def forbidden_actions(self, scenario: Scenario, state: dict[str, Any]) -> list[dict[str, Any]]:
        return forbidden_keyframes(self.fr, state)
