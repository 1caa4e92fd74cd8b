"""The species catalogue: SRD facts kept faithfully, behaviour flags present, bad rows refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from srlforge.rules import DATA_DIR, RuleFileError, load_rule_dir, load_rules
from srlforge.rules.species import load_species

SRD_ATTRIBUTION_START = (
    'This work includes material taken from the System Reference Document 5.1 ("SRD 5.1") by '
    "Wizards of the Coast LLC"
)


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "1.0.0"
    shutil.copytree(DATA_DIR / "1.0.0", target)
    return target


def _edit_species(root: Path, edit) -> None:
    path = root / "species.yaml"
    doc = yaml.safe_load(path.read_text())
    edit({row["name"]: row for row in doc["tables"]["species"]["rows"]}, doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def test_catalogue_holds_the_five_species_with_their_srd_facts():
    species = load_species(load_rules())
    assert set(species) == {"vampire", "werewolf", "zombie", "ghoul", "lich"}
    # Spot checks against the SRD 5.1 stat blocks (5e-bits/5e-database, 2014 rules).
    vampire, zombie, lich = species["vampire"], species["zombie"], species["lich"]
    assert (vampire.srd_index, vampire.hit_points, vampire.intelligence) == (
        "vampire-vampire",
        144,
        17,
    )
    assert "Vampire Weaknesses" in vampire.special_abilities
    assert vampire.ability("Charm") is not None and vampire.ability("Charm").save_dc == 17
    assert (zombie.speed_ft, zombie.can_speak) == (20, False)
    assert "can't speak" in zombie.languages
    assert zombie.undead_fortitude is not None and "radiant" in zombie.undead_fortitude.bypassed_by
    assert lich.guards == "phylactery" and lich.intelligence == 20
    assert "bludgeoning, piercing, and slashing from nonmagical weapons" in lich.damage_immunities
    werewolf = species["werewolf"]
    assert werewolf.weapon_effect["silver"] == 1.0 and werewolf.weapon_effect["mundane"] == 0.0


def test_behaviour_flags_follow_the_lore():
    species = load_species(load_rules())
    vampire = species["vampire"]
    assert vampire.sunlight == "burns" and vampire.needs_invitation
    assert vampire.running_water == "blocked" and vampire.pack_call == "night"
    assert vampire.pack_ability == "Children of the Night"
    assert species["werewolf"].pack_call == "night" and species["werewolf"].moon_bound
    assert species["lich"].social == "commands_lesser_undead"
    assert species["zombie"].pack_call == "never"
    # Folklore is kept, and marked as the weaker source it is.
    assert all(f.strength in ("weak", "disputed") for s in species.values() for f in s.folklore)
    assert "garlic" in vampire.folklore_avoids


def test_attribution_is_the_srd_sentence_verbatim():
    attribution = load_rules().file("species").attribution or ""
    assert attribution.startswith(SRD_ATTRIBUTION_START)
    assert "creativecommons.org/licenses/by/4.0" in attribution
    assert "5e-bits/5e-database" in attribution


def test_a_sixth_species_is_only_a_data_row(rules_copy: Path):
    def add_ghast(rows, doc):
        ghast = dict(rows["ghoul"], name="ghast", srd_index="ghast", hit_points=36, intelligence=11)
        doc["tables"]["species"]["rows"].append(ghast)

    _edit_species(rules_copy, add_ghast)
    species = load_species(load_rule_dir(rules_copy))
    assert species["ghast"].hit_points == 36 and len(species) == 6


def test_malformed_rows_name_the_file_and_the_path(rules_copy: Path):
    def break_pack(rows, doc):
        del rows["vampire"]["pack_ability"]

    _edit_species(rules_copy, break_pack)
    with pytest.raises(RuleFileError) as info:
        load_species(load_rule_dir(rules_copy))
    message = str(info.value)
    assert "species.yaml" in message and "tables.species.rows[0]" in message
    assert "pack_ability" in message


def test_duplicate_species_and_missing_attribution_are_refused(rules_copy: Path, tmp_path: Path):
    _edit_species(
        rules_copy, lambda rows, doc: doc["tables"]["species"]["rows"].append(rows["lich"])
    )
    with pytest.raises(RuleFileError, match="'lich' appears twice"):
        load_species(load_rule_dir(rules_copy))

    second = tmp_path / "other" / "1.0.0"
    shutil.copytree(DATA_DIR / "1.0.0", second)
    _edit_species(second, lambda rows, doc: doc.pop("attribution"))
    with pytest.raises(RuleFileError, match="attribution"):
        load_species(load_rule_dir(second))
