"""The expert's rationale for one step: what drove the choice, citing the rules and the lore.

Written from the state before the step, the chosen action, the state after it, and the rules the
*other* exits would have broken (their ids map to the sources cited in ``personality.yaml``), so
the text names the real reason: the time left, the species rule that bars a shortcut, the trait
that carries a parley, the hunter's position and weapon.
"""

from __future__ import annotations

from srlforge.arena._personality_sim import HOSTILE, Act, Sim, State

_GOALS = {
    "reach_refuge": "reach my resting place at the {goal}",
    "feed_unseen": "feed at the {victim} unseen",
    "lure": "lure the hunter to the {goal}",
    "negotiate_passage": "get past the guard at the {post} to the {goal}",
    "defend_lair": "drive the hunter off before he reaches my lair at the {lair}",
}


def _short(source: str) -> str:
    return source.split(";")[0].strip()[:70]


def _barred(sim: Sim, st: State, chosen: str) -> list[str]:
    """Why the exits not taken are barred (species rules) or shunned (folklore)."""
    notes = []
    for x in sim.graph(st).exits[st["monster"]["at"]]:
        if x == chosen:
            continue
        for rule, _ in sim.check(st, ("move", x, None, None, None)):
            if rule.startswith(("species.", "move.guarded", "folklore.")):
                verb = "shun" if rule.startswith("folklore.") else "can't take"
                notes.append(f"I {verb} the {x} ({_short(sim.cfg.sources[rule])})")
                break
        if len(notes) == 2:
            break
    return notes


def _aim(st: State) -> str:
    """Where the monster is heading at this point of its objective."""
    objective, m, p = st["objective"], st["monster"], st["player"]
    kind = objective["kind"]
    if kind == "feed_unseen":
        return objective["victim"] if not m["fed"] else objective.get("refuge") or m["at"]
    if kind == "defend_lair" or (kind == "lure" and p["mode"] != "chase"):
        return p["at"]
    return objective["goal"]


def _weapon(sim: Sim, st: State) -> str:
    sp = sim.cfg.species[st["species"]]
    weapon = st["player"]["weapon"]
    effect = sp.weapon_effect[weapon]
    name = weapon.replace("_", " ")
    if effect >= sim.cfg.sim.bane_effect:
        return f"his {name} is my bane"
    return f"his {name} can't hurt me" if effect == 0 else f"I resist his {name}"


def _move(sim: Sim, st: State, act: Act, after: State) -> str:
    kind, target = act[0], act[1]
    g = sim.graph(st)
    p, here = st["player"], st["monster"]["at"]
    aim = _aim(st)
    left = g.dist[target][aim]
    verb = {"move": "Move to", "stalk": "Stalk into the cover of", "flee": "Dash to"}[kind]
    label = f"the hunter at the {aim}" if aim == p["at"] else f"the {aim}"
    steps = "step" if left == 1 else "steps"
    where = "where I need to be" if left == 0 else f"{left} {steps} from {label}"
    text = f"{verb} the {target}, {where}"
    if aim == p["at"] and st["objective"]["kind"] == "lure":
        text = f"{verb} the {target} to be heard by the hunter at the {p['at']}"
    elif st["objective"]["kind"] == "lure":
        text += ", loud enough that the hunter follows my trail"
    sp = sim.cfg.species[st["species"]]
    slow = sim.turns_per_move[sp.name]
    if slow > 1:
        text += f" (a move takes me {slow} turns at {sp.speed_ft} ft.)"
    if kind == "stalk":
        text += f"; unseen and unheard by the hunter at the {p['at']}"
    elif kind == "flee":
        text += f" (SRD Dash): fear {st['monster']['emotions']['fear']} and {_weapon(sim, st)}"
    elif g.dist[target][aim] >= g.dist[here][aim]:
        text += f"; the way on is closed while the hunter holds the {p['at']}"
    notes = _barred(sim, st, target)
    return text + ("; " + "; ".join(notes) if notes else "") + "."


def explain(sim: Sim, st: State, act: Act, after: State) -> str:
    kind, _, offer, ability, turns = act
    cfg = sim.cfg
    sp = cfg.species[st["species"]]
    m, p = st["monster"], st["player"]
    objective = st["objective"]
    here, hunter = m["at"], p["at"]
    dist = sim.graph(st).dist[here][hunter]
    left = objective["deadline"] - st["turn"]
    aim = _GOALS[objective["kind"]].format(**{k: v for k, v in objective.items() if v})
    head = f"Turn {st['turn']}, {left} left to {aim}."
    if sp.sunlight == "burns" and st["dawn_turn"] - st["turn"] <= 4:
        head += (
            f" Dawn in {st['dawn_turn'] - st['turn']} turns and sunlight burns me"
            " (SRD Sunlight Hypersensitivity)."
        )
    n = turns or 1
    calmed = after["player"]["mode"] not in HOSTILE
    if kind in ("move", "stalk", "flee"):
        body = _move(sim, st, act, after)
    elif kind in ("hide", "wait"):
        how = f"Hide in the {here}'s cover" if kind == "hide" else f"Wait at the {here}"
        body = (
            f"{how} for {n} turn(s): the hunter at the {hunter} ({dist} away) must move first"
            f" - {_weapon(sim, st)}."
        )
    elif kind == "attack":
        body = (
            f"Attack with {sp.attack.name} ({sp.attack.damage} a turn) for {n} turn(s) against"
            f" his {p['hp']} HP: aggression {m['traits']['aggression']}, and {_weapon(sim, st)}."
        )
    elif kind == "negotiate":
        trait = cfg.offers[offer or ""]
        name = f"{trait.replace('_', ' ')} {m['traits'][trait]}"
        if m["emotions"]["curiosity"] >= cfg.emo.curiosity_threshold:
            name += f" (+{cfg.emo.curiosity_bonus} for my curiosity about him)"
        if calmed:
            outcome = f"meets his resolve {p['resolve']}, so he stands aside"
        else:
            outcome = (
                f"falls short of his resolve {p['resolve']}: he refuses and comes for me,"
                " leaving his ground"
            )
        body = f"Offer to {offer}: my {name} {outcome}."
    elif kind == "use_ability":
        found = sp.ability(ability or "")
        dc, effect = (found.save_dc, found.effect) if found else (0, "affect")
        save = cfg.levels[p["level"]].save
        body = f"Use {ability} (SRD, save DC {dc} against his save {save}) to {effect} the hunter"
        body += "." if calmed else ", though he shrugs it off and comes for me."
    elif kind == "call_pack":
        when = ", while it is still night" if sp.pack_call == "night" else ""
        body = (
            f"{sp.pack_ability}: set the pack on the hunter {dist} location(s) away{when};"
            f" faction loyalty {m['traits']['faction_loyalty']} rallies them."
        )
    else:
        body = (
            f"Feed on the victim at the {here} ({sp.feeds_on}): the hunter at the {hunter} is"
            f" {dist} location(s) away, out of sight and earshot."
        )
    if after["status"] == "won":
        body += " That completes the goal."
    return f"{head} {body}"
