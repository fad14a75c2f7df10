"""Screening against the SDN list in OFAC's CSV format: loading, name matching, aliases, countries."""

from __future__ import annotations

from pathlib import Path

import pytest

from backoffice.vendors.sanctions import (
    DEFAULT_THRESHOLD,
    SAMPLE_LIST_DIRECTORY,
    SanctionsList,
    country_code,
    load_sanctions_list,
    screen,
    screen_names,
)

# ------------------------------------------------------------------------------------------------------------
# The list files
# ------------------------------------------------------------------------------------------------------------


def test_the_sample_list_ships_in_the_package_in_ofac_format() -> None:
    # Given the package's sample directory / Then it holds OFAC's three files, headerless, with -0- nulls
    names = {child.name for child in SAMPLE_LIST_DIRECTORY.iterdir()}
    assert {"sdn.csv", "alt.csv", "add.csv"} <= names
    first = (SAMPLE_LIST_DIRECTORY / "sdn.csv").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith('90001,"KARAVAN TRADING FZE",-0- ,"SDGT] [IRAN"')


def test_loading_attaches_aliases_addresses_programs_and_reads_nulls(sdn_list: SanctionsList) -> None:
    # Given the sample list / When it is loaded
    assert 12 <= len(sdn_list) <= 20
    karavan = sdn_list.entries[90001]
    # Then programs are split, -0- is None, aliases and addresses belong to their entry
    assert karavan.programs == ["SDGT", "IRAN"]
    assert karavan.sdn_type == "entity"
    assert karavan.title is None and karavan.call_sign is None
    assert [alias.name for alias in karavan.aliases] == ["KARAVAN GENERAL TRADING", "CARAVAN TRADING FZE"]
    assert karavan.countries == ["United Arab Emirates"]
    vessel = sdn_list.entries[90005]
    assert (vessel.sdn_type, vessel.vessel_type, vessel.vessel_flag, vessel.tonnage) == (
        "vessel",
        "Crude Oil Tanker",
        "Panama",
        "159,000",
    )
    assert sdn_list.entries[90004].sdn_type == "individual"
    assert len(sdn_list.digest) == 64


def test_real_ofac_file_quirks_are_read(tmp_path: Path) -> None:
    # Given files as OFAC serves them: upper-case name, Windows-1252 text, a Ctrl-Z line at the end, no alt/add
    (tmp_path / "SDN.CSV").write_bytes(
        b'36,"AEROCARIBE SAMPLE LINES",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"Caf\xe9 remark." \r\n'
        b'37,"MOLINA, Jos\xe9",individual,"SDNTK",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
        b"\x1a\r\n"
    )
    # When loaded
    loaded = load_sanctions_list(tmp_path)
    # Then both rows are entries, the accent is kept, and screening folds it away
    assert sorted(loaded.entries) == [36, 37]
    assert loaded.entries[36].remarks == "Café remark."
    assert screen("Jose Molina", sanctions_list=loaded).decision == "review"


def test_a_missing_list_is_an_error_not_an_empty_list(tmp_path: Path) -> None:
    # Screening against nothing would clear everyone
    with pytest.raises(FileNotFoundError):
        load_sanctions_list(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError):
        load_sanctions_list(tmp_path)


def test_the_digest_tells_two_list_versions_apart(tmp_path: Path, sdn_list: SanctionsList) -> None:
    for name in ("sdn.csv", "alt.csv", "add.csv"):
        (tmp_path / name).write_bytes((SAMPLE_LIST_DIRECTORY / name).read_bytes())
    assert load_sanctions_list(tmp_path).digest == sdn_list.digest
    (tmp_path / "alt.csv").write_text("")
    assert load_sanctions_list(tmp_path).digest != sdn_list.digest


# ------------------------------------------------------------------------------------------------------------
# Matching
# ------------------------------------------------------------------------------------------------------------


def test_a_listed_entity_is_sent_to_review_whatever_its_legal_form_or_punctuation(
    sdn_list: SanctionsList,
) -> None:
    for name in (
        "Blue Lantern Digital Services, Inc.",
        "BLUE-LANTERN DIGITAL SERVICES LLC",
        "blue lantern digital services",
    ):
        # When screened / Then the primary name is hit with a perfect score
        result = screen(name, sanctions_list=sdn_list)
        assert result.decision == "review", name
        hit = result.hits[0]
        assert (hit.ent_num, hit.kind, hit.program, hit.score) == (90006, "primary", "CYBER2", 1.0)


def test_an_alias_is_screened_and_the_hit_names_the_listed_party(sdn_list: SanctionsList) -> None:
    # Given a vendor trading under a listed alias
    result = screen("Karavan General Trading L.L.C.", sanctions_list=sdn_list)
    # Then the hit is the alias, and the reviewer sees the primary name and programs
    hit = result.hits[0]
    assert (hit.kind, hit.matched_name, hit.listed_name, hit.program) == (
        "alias",
        "KARAVAN GENERAL TRADING",
        "KARAVAN TRADING FZE",
        "SDGT, IRAN",
    )
    assert "alias of 'KARAVAN TRADING FZE'" in result.reasons[0]


def test_an_individual_listed_last_name_first_is_found_in_reading_order(sdn_list: SanctionsList) -> None:
    # Given "ZORVANOV, Pyotr Alekseevich" on the list and a vendor form without the patronymic
    for name in ("Pyotr Zorvanov", "Zorvanov Pyotr", "Petr Zorvanov", "Pyótr Zorvanov"):
        result = screen(name, sanctions_list=sdn_list)
        # Then the individual is hit, on the primary name or the transliterated alias
        assert [hit.ent_num for hit in result.hits] == [90004], name


def test_jaro_winkler_catches_a_misspelling(sdn_list: SanctionsList) -> None:
    result = screen("Golden Trydent Marine Servises", sanctions_list=sdn_list)
    assert result.decision == "review"
    assert result.hits[0].ent_num == 90012
    assert DEFAULT_THRESHOLD <= result.hits[0].score < 1.0


@pytest.mark.parametrize(
    "name",
    [
        "Harbor & Pine Facilities LLC",
        "Cobalt Print & Signage Inc.",
        "Atlas Cloud Integrators Inc.",
        "Ingrid Fennimore",
        "Blue Lantern Marketing",
    ],
)
def test_unrelated_vendors_are_clear(sdn_list: SanctionsList, name: str) -> None:
    result = screen(name, sanctions_list=sdn_list)
    assert (result.decision, result.hits) == ("clear", [])


def test_one_word_of_a_listed_entity_name_is_not_a_hit(sdn_list: SanctionsList) -> None:
    # "Severny" alone is a word of a listed name, not the name
    assert screen("Severny", sanctions_list=sdn_list).decision == "clear"


def test_the_threshold_decides_near_misses(sdn_list: SanctionsList) -> None:
    # Given a vendor whose name shares a long prefix with a listed vessel ("MERIDIAN DAWN")
    name = "Meridian Data Labs LLC"
    # Then the default threshold clears it and a stricter firm sends it to review
    assert screen(name, sanctions_list=sdn_list).decision == "clear"
    stricter = screen(name, sanctions_list=sdn_list, threshold=0.85)
    assert stricter.decision == "review"
    assert stricter.hits[0].matched_name == "MERIDIAN DAWN"
    assert stricter.threshold == 0.85


def test_the_vendor_country_is_shown_on_each_hit_and_never_clears_it(sdn_list: SanctionsList) -> None:
    in_russia = screen("Severny Arsenal Machine Works", "RU", sanctions_list=sdn_list)
    in_us = screen("Severny Arsenal Machine Works", "United States", sanctions_list=sdn_list)
    unknown = screen("Severny Arsenal Machine Works", sanctions_list=sdn_list)
    assert in_russia.hits[0].country_match is True
    assert in_us.hits[0].country_match is False
    assert unknown.hits[0].country_match is None
    assert {in_russia.decision, in_us.decision, unknown.decision} == {"review"}


def test_country_names_as_ofac_writes_them_map_to_iso_codes() -> None:
    assert [
        country_code(name) for name in ("Korea, North", "Russia", "Burma", "United Arab Emirates", "us")
    ] == [
        "KP",
        "RU",
        "MM",
        "AE",
        "US",
    ]
    assert country_code("Atlantis") is None


def test_every_name_a_vendor_goes_by_is_screened_and_hits_are_merged(sdn_list: SanctionsList) -> None:
    # Given a sole proprietor whose trade name is clean but whose own name is listed
    result = screen_names(["Rafael Montevargo", "Cali Coffee Imports"], "CO", sanctions_list=sdn_list)
    # Then the case goes to review on the owner's name
    assert result.decision == "review"
    assert [hit.ent_num for hit in result.hits] == [90010]
    assert result.hits[0].country_match is True
    assert result.screened_names == ["Rafael Montevargo", "Cali Coffee Imports"]
    assert result.list_digest == sdn_list.digest
    with pytest.raises(ValueError, match="at least one non-empty name"):
        screen_names(["  "], sanctions_list=sdn_list)
