"""MyInfo attribute objects become plain values."""

from singpass_gateway.person import normalise, provenance


def test_myinfo_attributes_become_plain_values() -> None:
    person = {
        "uinfin": {"value": "M1234567K", "classification": "C", "source": "1", "lastupdated": "2024-01-01"},
        "name": {"value": "TAN HENG HUAT", "unavailable": False},
        "sex": {"code": "F", "desc": "FEMALE", "source": "1"},
        "email": {"value": "", "unavailable": True},
        "dob": {"value": "1998-06"},
        "mobileno": {
            "prefix": {"value": "+"},
            "areacode": {"value": "65"},
            "nbr": {"value": "97399245"},
            "source": "4",
        },
        "regadd": {
            "type": "SG",
            "block": {"value": "102"},
            "street": {"value": "BEDOK NORTH AVENUE 4"},
            "floor": {"value": "09"},
            "unit": {"value": "128"},
            "postal": {"value": "460102"},
            "country": {"code": "SG", "desc": "SINGAPORE"},
            "classification": "C",
        },
        "mailadd": {"type": "Unformatted", "line1": {"value": "1 JALAN"}, "line2": {"value": "KL"}},
        "cpfemployers": {"history": [{"month": {"value": "2024-01"}, "employer": {"value": "ACME"}}]},
        "cpfbalances": {"oa": {"value": 1581.48}, "ma": {"value": 11470.71}},
        "vehicles": [{"vehicleno": {"value": "SBA1234A"}}],
        "nationality": "NA",
    }
    assert normalise(person) == {
        "uinfin": "M1234567K",
        "name": "TAN HENG HUAT",
        "sex": "FEMALE",
        "email": None,
        "dob": "1998-06",
        "mobileno": "+65 97399245",
        "regadd": {
            "type": "SG",
            "block": "102",
            "street": "BEDOK NORTH AVENUE 4",
            "floor": "09",
            "unit": "128",
            "postal": "460102",
            "country": "SINGAPORE",
        },
        "mailadd": {"type": "Unformatted", "line1": "1 JALAN", "line2": "KL"},
        "cpfemployers": {"history": [{"month": "2024-01", "employer": "ACME"}]},
        "cpfbalances": {"oa": 1581.48, "ma": 11470.71},
        "vehicles": [{"vehicleno": "SBA1234A"}],
        "nationality": None,
    }


def test_anything_but_an_object_is_no_person() -> None:
    assert normalise(["not", "an", "object"]) == {}
    assert normalise(None) == {}


def test_source_classification_and_last_update_are_kept_per_attribute() -> None:
    person = {
        "name": {"value": "TAN HENG HUAT", "source": "1", "classification": "C", "lastupdated": "2020-02-04"},
        "email": {"value": "a@b.sg", "source": "2", "classification": "C"},
        "regadd": {"type": "Unformatted", "line1": {"value": "1 JALAN"}, "source": "1", "unavailable": False},
        "nationality": "NA",
        "noa": {"amount": {"value": 1}},
    }
    assert provenance(person) == {
        "name": {"source": "1", "classification": "C", "lastupdated": "2020-02-04"},
        "email": {"source": "2", "classification": "C"},
        "regadd": {"source": "1"},
    }
    assert provenance("not an object") == {}
