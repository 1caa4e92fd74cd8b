"""Sounds: cue sheets for a horror scene timeline, built one cue at a time.

The brief (``state``) gives the platform, location, the monster (species and form) and the
scene as consecutive beats with timed events. Each step adds one cue ``{type, target, params,
timing}``; the simulator keeps a playhead (the last cue's start) and, per bus, when it is free
again. What makes a sheet right comes from ``sounds.yaml``: the cues each beat and event kind
needs and where they sit in time (``_sounds_sim``), ASWG-R001 loudness per platform, startle
rules for stings (fast attack, broadband, a quiet run-up), scream roughness, ambience loop
lengths, door resonances, engine firing frequencies and which monster forms can speak.

Order is structural: a sheet is written along the timeline (``timing.order``), buses carry one
cue at a time and a silence is exclusive, so reversed, swapped, repeated or missing cues fail.
"""

from __future__ import annotations

import math
import random
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from srlforge.arena._sounds_actions import expert_steps, forbidden_cues, random_cue, saturated_cue
from srlforge.arena._sounds_rules import SoundRules, load_sound_rules
from srlforge.arena._sounds_sim import Requirement, find_requirement, generate_scene, requirements
from srlforge.arena.base import Arena, Judgement, Replay
from srlforge.rules import RuleSet
from srlforge.schema import Scenario, Step, Violation

# Ordering and overlap are exact comparisons of times the policy copies from the brief; this
# only absorbs float noise (anchors to the brief use the data's timing.tolerance_s).
EPS = 1e-6


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class CueParams(_Strict):
    loudness_lufs: float = Field(ge=-90.0, le=0.0, description="Integrated loudness (BS.1770).")
    true_peak_dbtp: float = Field(ge=-90.0, le=0.0)
    loudness_range_lu: float = Field(ge=0.0, le=40.0)
    duration_s: float = Field(ge=0.0, le=600.0, description="Must equal end_s - start_s.")
    attack_ms: float = Field(ge=0.0, le=2000.0)
    band_low_hz: float = Field(ge=20.0, le=20000.0)
    band_high_hz: float = Field(ge=20.0, le=20000.0)
    looping: bool
    loop_length_s: float = Field(ge=0.0, le=300.0, description="0 for a one-shot.")
    am_rate_hz: float = Field(ge=0.0, le=1000.0, description="Amplitude-modulation rate.")
    speech: bool = Field(description="Whether a voice cue carries words.")


class CueTiming(_Strict):
    start_s: float = Field(ge=0.0, le=600.0)
    end_s: float = Field(ge=0.0, le=600.0)


class CueMetadata(_Strict):
    note: str = Field(default="", max_length=200)


class CueAction(_Strict):
    type: Literal["effect", "ambience", "music", "sting", "voice", "silence"]
    target: str = Field(pattern=r"^[be][0-9]{1,2}$", description="A beat or event id.")
    params: CueParams
    timing: CueTiming
    metadata: CueMetadata | None = None


def _octaves(low: float, high: float) -> float:
    return math.log2(high / low) if high > low > 0 else 0.0


class SoundsArena(Arena):
    model_type: ClassVar[str] = "sounds"
    action_model: ClassVar[type[BaseModel]] = CueAction
    uses_species: ClassVar[bool] = True
    description: ClassVar[str] = "Cue sheets for a scene timeline (loudness, startle, loops)."

    def load_rules(self, rules: RuleSet) -> None:
        self.sr: SoundRules = load_sound_rules(rules)
        door = self.sr.door
        self._door_span = (min(door.resonances_hz), max(door.resonances_hz))

    # ----- scenarios and transitions -----------------------------------------------------------

    def generate(self, rng: random.Random, difficulty: int) -> dict[str, Any]:
        return generate_scene(rng, self.sr, difficulty)

    def initial_state(self, scenario: Scenario) -> dict[str, Any]:
        return dict(scenario.state)

    def apply(self, state: dict[str, Any], action: BaseModel) -> tuple[dict, dict]:
        """Place the cue: the playhead moves to its start and its bus is busy until its end.
        A cue that meets a requirement's anchors adds the requirement to ``covered``."""
        start, end = action.timing.start_s, action.timing.end_s
        bus = self.sr.bus_of[action.type]
        nxt = dict(state)
        nxt["playhead_s"] = start
        nxt["bus_free_at"] = {**state["bus_free_at"], bus: end}
        delta: dict[str, Any] = {"playhead_s": start, "bus_free_at": {bus: end}}
        req, _ = find_requirement(self.sr, state, action.target, action.type)
        if req is not None and req.key not in state["covered"] and self._meets(req, action):
            nxt["covered"] = [*state["covered"], req.key]
            delta["covered_add"] = req.key
        return nxt, delta

    def _meets(self, req: Requirement, action: CueAction) -> bool:
        tol = self.sr.timing.tolerance_s
        start, end = action.timing.start_s, action.timing.end_s
        if abs(end - req.end) > tol:
            return False
        if req.mode == "runup":  # any quiet stretch that ends on the sting starts a run-up
            return start <= end - self.sr.startle.runup_min_s + EPS
        return abs(start - req.start) <= tol

    # ----- rule checks ---------------------------------------------------------------------------

    def check_action(self, state: dict[str, Any], action: BaseModel) -> list[Violation]:
        sr, v = self.sr, self.violation
        out: list[Violation] = []
        p, start, end = action.params, action.timing.start_s, action.timing.end_s
        tol = sr.timing.tolerance_s
        if end - start < sr.timing.min_cue_s - EPS:
            out.append(
                v(
                    "timing.window",
                    f"cue lasts {end - start:.3f} s, under the {sr.timing.min_cue_s} s minimum",
                )
            )
        elif abs(p.duration_s - (end - start)) > tol:
            out.append(
                v(
                    "timing.window",
                    f"duration_s {p.duration_s} != end_s - start_s ({end - start:.3f})",
                )
            )
        if end > state["scene_length_s"] + tol:
            out.append(
                v(
                    "timing.window",
                    f"cue ends at {end} s, after the scene ({state['scene_length_s']} s)",
                )
            )
        if start < state["playhead_s"] - EPS:
            out.append(
                v(
                    "timing.order",
                    f"starts at {start} s, before the previous cue ({state['playhead_s']} s)",
                )
            )
        out += self._check_buses(state, action.type, start)
        req, node = find_requirement(sr, state, action.target, action.type)
        if node is None:
            out.append(v("cue.target", f"'{action.target}' is no beat or event of the brief"))
        elif req is None:
            kind = node["kind"]
            if action.type == "music" and kind in sr.beats and sr.beats[kind].ambience_only:
                out.append(
                    v("music.wallpaper", f"music over {node['id']} ({kind}), an ambience-only beat")
                )
            else:
                out.append(v("cue.unrequested", f"a {kind} asks for no {action.type} cue"))
        else:
            out += self._check_requirement(state, req, action)
        out += self._check_levels(state, action)
        out += self._check_shape(state, action)
        return out

    def _check_buses(self, state: dict[str, Any], cue_type: str, start: float) -> list[Violation]:
        sr, out = self.sr, []
        free = state["bus_free_at"]
        bus = sr.bus_of[cue_type]
        if free[bus] > start + EPS:
            out.append(self.violation("bus.overlap", f"the {bus} bus is busy until {free[bus]} s"))
        if bus in sr.exclusive_buses:
            busy = sorted(b for b, t in free.items() if b != bus and t > start + EPS)
            if busy:
                out.append(
                    self.violation(
                        "silence.exclusive", f"{', '.join(busy)} still sound(s) at {start} s"
                    )
                )
        else:
            for ex in sr.exclusive_buses:
                if free[ex] > start + EPS:
                    out.append(
                        self.violation("silence.exclusive", f"a silence runs until {free[ex]} s")
                    )
        return out

    def _check_requirement(
        self, state: dict[str, Any], req: Requirement, action: CueAction
    ) -> list[Violation]:
        sr, v, out = self.sr, self.violation, []
        start, end = action.timing.start_s, action.timing.end_s
        if not self._meets(req, action):
            want = f"ending at {req.end} s" if req.mode == "runup" else f"{req.start}-{req.end} s"
            why = ", cut where the next scare's run-up begins" if req.clipped else ""
            out.append(v("cue.timing", f"{req.key} must be {want}{why}; got {start}-{end} s"))
        elif (
            req.mode == "runup" and end - start < sr.startle.runup_window_s - sr.timing.tolerance_s
        ):
            out.append(
                v(
                    "sting.quiet_runup",
                    f"only {end - start:.2f} s of quiet before the "
                    f"sting (window {sr.startle.runup_window_s} s)",
                )
            )
        event_kind = req.node["kind"] if req.mode != "span" else None
        p = action.params
        if action.type == "voice":
            monster = state["monster"]
            voice = sr.voices[(monster["species"], monster["form"])]
            words = event_kind == "line" and voice.can_speak
            if p.speech != words:
                who = f"{monster['species']} ({monster['form']} form)"
                if words:
                    why = f"the {who} speaks its line"
                elif event_kind == "line":
                    why = f"the {who} can't speak (SRD 5.1)"
                else:
                    why = "a scream has no words"
                out.append(v("voice.speech", f"speech={p.speech}, but {why}"))
            rough = sr.roughness
            if event_kind == "scream" and not rough.am_min_hz <= p.am_rate_hz <= rough.am_max_hz:
                out.append(
                    v(
                        "voice.roughness",
                        f"scream AM {p.am_rate_hz} Hz outside "
                        f"{rough.am_min_hz}-{rough.am_max_hz} Hz",
                    )
                )
        elif event_kind == "door_creak":
            low, high = self._door_span
            slack = sr.door.tolerance_ratio
            if p.band_low_hz > low * (1 + slack) or p.band_high_hz < high * (1 - slack):
                out.append(
                    v(
                        "effect.door_band",
                        f"band {p.band_low_hz}-{p.band_high_hz} Hz "
                        f"misses the door resonances {low}-{high} Hz",
                    )
                )
        elif event_kind == "engine":
            firing = self.firing_hz(req.node)
            slack = sr.engine.tolerance_ratio
            if not p.band_low_hz * (1 - slack) <= firing <= p.band_high_hz * (1 + slack):
                out.append(
                    v(
                        "effect.engine_band",
                        f"band {p.band_low_hz}-{p.band_high_hz} Hz "
                        f"misses the firing frequency {firing:.1f} Hz",
                    )
                )
        return out

    def _check_levels(self, state: dict[str, Any], action: CueAction) -> list[Violation]:
        sr, v, out, p = self.sr, self.violation, [], action.params
        if action.type == "silence":
            if p.loudness_lufs > sr.levels.silence_max_lufs:
                out.append(
                    v(
                        "silence.level",
                        f"a silence at {p.loudness_lufs} LUFS is above "
                        f"the {sr.levels.silence_max_lufs} LUFS gate",
                    )
                )
        else:
            plat = sr.platforms[state["platform"]]
            if abs(p.loudness_lufs - plat.target_lufs) > plat.tolerance_lu + EPS:
                alt = [
                    t
                    for t in plat.alt_targets_lufs
                    if abs(p.loudness_lufs - t) <= plat.tolerance_lu + EPS
                ]
                rule = "loudness.alt_target" if alt else "loudness.target"
                out.append(
                    v(
                        rule,
                        f"{p.loudness_lufs} LUFS vs {state['platform']} target "
                        f"{plat.target_lufs} +-{plat.tolerance_lu}",
                    )
                )
        if p.true_peak_dbtp > sr.levels.true_peak_max_dbtp + EPS:
            out.append(
                v(
                    "loudness.true_peak",
                    f"true peak {p.true_peak_dbtp} dBTP above {sr.levels.true_peak_max_dbtp}",
                )
            )
        if p.loudness_range_lu > sr.levels.loudness_range_max_lu + EPS:
            out.append(
                v(
                    "loudness.range",
                    f"LRA {p.loudness_range_lu} LU above {sr.levels.loudness_range_max_lu}",
                )
            )
        return out

    def _check_shape(self, state: dict[str, Any], action: CueAction) -> list[Violation]:
        """Looping, band and attack: what kind of sound the cue is, whatever it targets."""
        sr, v, out, p = self.sr, self.violation, [], action.params
        looping = sr.cue_types[action.type].looping
        if looping == "forbidden" and p.looping:
            out.append(v("cue.looping", f"a {action.type} is a one-shot and can't loop"))
        elif p.looping != (p.loop_length_s > 0):
            out.append(
                v("cue.looping", f"looping={p.looping} with loop_length_s {p.loop_length_s}")
            )
        if looping == "required":
            band = sr.loops[state["location"]]
            if not p.looping or not band.min_s <= p.loop_length_s <= band.max_s:
                out.append(
                    v(
                        "ambience.loop",
                        f"{state['location']} beds loop every "
                        f"{band.min_s}-{band.max_s} s; got looping={p.looping}, "
                        f"{p.loop_length_s} s",
                    )
                )
        if p.band_low_hz >= p.band_high_hz:
            out.append(v("band.order", f"band {p.band_low_hz}-{p.band_high_hz} Hz is empty"))
        if action.type == "sting":
            st = sr.startle
            if p.attack_ms > st.max_attack_ms + EPS:
                out.append(
                    v(
                        "sting.attack",
                        f"attack {p.attack_ms} ms; a startle needs <= {st.max_attack_ms} ms",
                    )
                )
            if _octaves(p.band_low_hz, p.band_high_hz) < st.min_broadband_octaves - EPS:
                out.append(
                    v(
                        "sting.broadband",
                        f"band {p.band_low_hz}-{p.band_high_hz} Hz is "
                        f"narrower than {st.min_broadband_octaves} octaves",
                    )
                )
        return out

    def firing_hz(self, event: dict[str, Any]) -> float:
        return event["cylinders"] * event["rpm"] / self.sr.engine.firing_divisor

    # ----- judging, the expert and probes --------------------------------------------------------

    def judge(self, scenario: Scenario, replay: Replay) -> Judgement:
        needed = [r.key for r in requirements(self.sr, replay.states[0])]
        covered = set(replay.states[-1]["covered"])
        missing = [k for k in needed if k not in covered]
        # A step that passed the hard rules but met no new requirement is a wasted cue.
        wasted = sum(
            1
            for i, (verdict, action) in enumerate(zip(replay.verdicts, replay.actions, strict=True))
            if action is not None
            and not verdict.hard_violation
            and len(replay.states[i + 1]["covered"]) == len(replay.states[i]["covered"])
        )
        return Judgement(
            objective_met=not missing,
            suboptimal_moves=wasted,
            details={"required": len(needed), "covered": len(covered), "missing": missing},
        )

    def solve(self, scenario: Scenario) -> list[Step]:
        return expert_steps(self, scenario)

    def random_action(self, rng: random.Random, state: dict[str, Any]) -> dict[str, Any]:
        return random_cue(rng, state)

    def saturated_action(self, scenario: Scenario) -> dict[str, Any]:
        return saturated_cue(self.initial_state(scenario))

    def forbidden_actions(self, scenario: Scenario, state: dict[str, Any]) -> list[dict[str, Any]]:
        return forbidden_cues(self, state)
