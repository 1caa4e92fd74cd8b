"""The facial expert's rationale per keyframe: which rule or lore row drove each choice."""

from __future__ import annotations

from typing import Any

from srlforge.arena._facial_plan import Keyframe
from srlforge.arena._facial_rules import FacialRules


def _codes(pose: dict[str, str]) -> str:
    return "+".join(f"{c}{b}" for c, b in pose.items()) or "none"


def think_for(fr: FacialRules, state: dict[str, Any], frame: Keyframe) -> str:
    """A short rationale citing the EMFACS row, rig limit, mapping and window behind a keyframe."""
    species = state["species"]
    rig = fr.rig_for(species)
    mode = fr.modes[state["brief"]["display"]]
    parts = []
    if rig.unsupported:
        parts.append("lacks AU " + "/".join(sorted(rig.unsupported, key=int)))
    if rig.caps:
        parts.append("caps " + ", ".join(f"{c}<={fr.bands[r - 1]}" for c, r in rig.caps.items()))
    limits = f" ({species} rig {'; '.join(parts)})" if parts else ""
    cfg = frame.config
    window = mode.windows.get(frame.kind)
    when = f"reached at {frame.start} s, held to {frame.end} s"
    if window:
        when += f", inside the {window[0]} window {window[1]}-{window[2]} s"
    shapes = f"ARKit weights at the band nominals: {len(frame.weights)} blendshapes"
    if frame.kind == "onset":
        return (
            f"Onset of {frame.target} toward the EMFACS {cfg.name}{limits}: each AU one band "
            f"below the apex ({_codes(frame.pose)}), {when}; ramp kept under the "
            f"{fr.motion.max_rate_per_s}/s smoothness limit."
        )
    if frame.kind == "apex":
        return (
            f"Apex: {frame.target} at {state['brief']['felt_intensity']} as the EMFACS "
            f"{cfg.name} ({_codes(frame.pose)}){limits}, rising above every onset AU; {shapes}; "
            f"{when}."
        )
    if frame.kind == "blend":
        return (
            f"Blend: layer {frame.target} ({cfg.name}) onto the apex; a shared AU keeps the "
            f"stronger band, giving {_codes(frame.pose)}; {shapes}; {when}."
        )
    if frame.kind == "mask":
        # Only the posed-only configuration (the social smile) needs the Duchenne caveat.
        why = ", a posed-only configuration: a masking smile is non-Duchenne" * (cfg.use == "posed")
        return (
            f"Mask: cover the {state['brief']['felt']} leak with posed {frame.target} "
            f"({cfg.name}{why}) so the leak stays a micro-expression; {when}."
        )
    return f"Offset: release every AU and blendshape back to neutral, {when}."
