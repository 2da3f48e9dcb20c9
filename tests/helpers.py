"""Small cases for tests: the default stack, thinner and narrower so that meshes build in well under a second."""

import copy

from femqled.case import validate

BASE = {
    "title": "test stack",
    "geometry": {"width_nm": 60.0},
    "layer": [
        {"name": "HIL", "material": "PEDOT:PSS", "thickness_nm": 10.0},
        {"name": "HTL", "material": "TFB", "thickness_nm": 12.0},
        {"name": "EML", "material": "QD", "thickness_nm": 10.0},
        {"name": "ETL", "material": "ZnO-NP", "thickness_nm": 15.0},
    ],
    "interlayer": {"thickness_nm": 2.0},
    "cathode": {"thickness_nm": 12.0},
    "mesh": {"interface_size_nm": 0.5, "bulk_size_nm": 2.5},
}


def merge(base: dict, changes: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in changes.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def raw_case(**changes) -> dict:
    return merge(BASE, changes)


def small_case(**changes) -> dict:
    case = validate(raw_case(**changes))
    case["_path"] = "test.toml"
    return case
