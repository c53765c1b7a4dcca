"""Candidate zones and jurisdictions of a callee (B1, B2, B3)."""

from __future__ import annotations

import pytest

from campaigns import errors, zones


@pytest.mark.req("B1")
def test_explicit_zone_wins_over_number_and_address() -> None:
    assert zones.candidate_zones("+12125550100", tz="America/Denver", zip_code="32501") \
        == ("America/Denver",)


@pytest.mark.req("B1")
def test_common_zone_spellings_are_accepted() -> None:
    assert zones.candidate_zones("+12125550100", tz="Pacific") == ("America/Los_Angeles",)


@pytest.mark.req("B1")
def test_zip_zone_narrows_a_split_area_code() -> None:
    assert zones.candidate_zones("+18505550100") == ("America/Chicago", "America/New_York")
    assert zones.candidate_zones("+18505550100", zip_code="32501") == ("America/Chicago",)
    assert zones.candidate_zones("+18505550100", zip_code="32301") == ("America/New_York",)


@pytest.mark.req("B1")
def test_state_zones_narrow_when_they_overlap() -> None:
    # 605 spans Central and Mountain; the state alone cannot narrow South Dakota.
    assert zones.candidate_zones("+16055550100", state="SD") == ("America/Chicago",
                                                                "America/Denver")
    # 915 (El Paso) with a Texas address: Texas zones overlap -> intersection.
    assert zones.candidate_zones("+19155550100", state="Texas") == ("America/Chicago",
                                                                   "America/Denver")


@pytest.mark.req("B1")
def test_no_overlap_keeps_both_number_and_address_zones() -> None:
    # A New York mobile whose owner lives in California.
    found = zones.locate("+12125550100", state="CA")
    assert found.zones == ("America/Los_Angeles", "America/New_York")
    assert found.method == "union"


@pytest.mark.req("B1")
def test_toll_free_takes_zones_from_address_only() -> None:
    assert zones.candidate_zones("+18005550100") == ()
    assert zones.candidate_zones("+18005550100", state="AZ") == ("America/Phoenix",)
    assert zones.candidate_zones("+18885550100", zip_code="96813") == ("Pacific/Honolulu",)


@pytest.mark.req("B1")
def test_canadian_postal_code_and_province() -> None:
    assert zones.candidate_zones("+18005550100", zip_code="S4P 3Y2") == ("America/Regina",)
    assert zones.locate("+14165550100", state="Ontario").jurisdictions == ("CA", "CA-ON")


@pytest.mark.req("B1")
def test_split_area_codes_carry_every_zone() -> None:
    expected = {"850": {"America/New_York", "America/Chicago"},
                "423": {"America/New_York", "America/Chicago"},
                "270": {"America/New_York", "America/Chicago"},
                "208": {"America/Boise", "America/Los_Angeles"},
                "605": {"America/Chicago", "America/Denver"},
                "701": {"America/Chicago", "America/Denver"},
                "915": {"America/Chicago", "America/Denver"}}
    for npa, wanted in expected.items():
        assert wanted <= set(zones.candidate_zones(f"+1{npa}5550100")), npa


@pytest.mark.req("B2")
def test_jurisdictions_are_country_area_code_state_and_address_state() -> None:
    found = zones.locate("+13055550100", state="NY")
    assert found.jurisdictions == ("US", "US-FL", "US-NY")
    assert zones.locate("+13055550100", zip_code="75201").jurisdictions == ("US", "US-FL", "US-TX")


@pytest.mark.req("B2")
def test_multi_province_area_code_and_territories() -> None:
    assert zones.locate("+19025550100").jurisdictions == ("CA", "CA-NS", "CA-PE")
    assert zones.locate("+17875550100").jurisdictions == ("US", "US-PR")
    assert zones.locate("+442079460000").jurisdictions == ("GB",)


@pytest.mark.req("B2")
def test_shipped_area_code_table_matches_phonenumbers() -> None:
    from importlib import resources

    shipped = resources.files("campaigns").joinpath("data/nanp-area-codes.csv").read_text("utf-8")
    assert shipped == zones.derive_area_codes()


@pytest.mark.req("B3")
@pytest.mark.parametrize("kwargs, field", [
    ({"number": "not a number"}, "number"),
    ({"number": "+1212"}, "number"),
    ({"number": "+12125550100", "tz": "Mars/Olympus"}, "tz"),
    ({"number": "+12125550100", "state": "Atlantis"}, "state"),
    ({"number": "+12125550100", "zip_code": "00000"}, "zip"),
])
def test_bad_input_is_an_error_naming_it(kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        zones.locate(kwargs.pop("number"), **kwargs)
    assert field in caught.value.fields
    assert caught.value.is_input_error


@pytest.mark.req("B3")
def test_stored_record_with_bad_zone_is_not_dialable_rather_than_guessed() -> None:
    found = zones.locate("+12125550100", tz="Eastern Daylight-ish", is_strict=False)
    assert found.zones == ()
    # A bad state on a stored record is ignored: the number's zones still count.
    assert zones.locate("+12125550100", state="??", is_strict=False).zones == ("America/New_York",)
