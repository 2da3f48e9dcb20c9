"""Docs generated from code stay in sync; every library parameter has a source."""

from pathlib import Path

from femqled import materials
from femqled.case import reference_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_case_reference_is_generated_from_the_schema():
    assert (ROOT / "docs" / "case-reference.md").read_text().strip() == reference_markdown().strip()


def test_every_parameter_has_a_source():
    import tomllib

    raw = tomllib.loads((ROOT / "femqled" / "data" / "parameters.toml").read_text())
    srcs = materials.sources()
    missing = []
    for name, entry in raw["materials"].items():
        for key in entry:
            if key not in ("sources", "role") and key not in srcs[name]:
                missing.append(f"{name}.{key}")
    for table in ("model", "ageing"):
        for key in raw[table]:
            if key != "sources" and key not in srcs[table]:
                missing.append(f"{table}.{key}")
    assert not missing, missing
