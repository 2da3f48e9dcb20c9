"""Bad input gives one clear message naming the field and what is allowed (issues 3 and 6)."""

import pytest
from mpi4py import MPI

from femqled import mesh as fmesh
from femqled.case import load_case, validate
from femqled.errors import InputError
from helpers import raw_case, small_case


def message(data) -> str:
    with pytest.raises(InputError) as e:
        case = validate(data)
        case["_path"] = "t.toml"
        fmesh.ensure_mesh(case, MPI.COMM_SELF)
    return str(e.value)


def test_the_default_case_is_valid():
    case = load_case("cases/default.toml")
    assert [l["name"] for l in case["layer"]] == ["HIL", "HTL", "EML", "ETL"]


def test_every_shipped_case_is_valid():
    from pathlib import Path

    cases = [p for p in sorted(Path("cases").glob("*.toml")) if not p.name.startswith("targets-")]
    assert len(cases) >= 2
    for p in cases:
        assert load_case(p)["layer"], p
    assert load_case("cases/anions.toml")["ions"]["layer"] == "ETL"
    assert load_case("cases/single-level.toml")["materials"]["QD"]["statistics"] == "single-level"
    assert load_case("cases/negative-trions.toml")["emission"]["trions"] == "negative"
    assert load_case("cases/default.toml")["emission"]["trions"] == "both"
    assert [h["name"] for h in load_case("cases/hypotheses.toml")["hypothesis"]] == [
        "light-anions+contact", "anions-at-dots+contact", "anions-ETL+contact", "dipole+tunnel", "returning-anions"]
    assert [h["ions_reversible"] for h in load_case("cases/hypotheses.toml")["hypothesis"]] == [False] * 4 + [True]


@pytest.mark.parametrize("changes, field, words", [
    (dict(layer=[{"name": "A", "material": "QD", "thickness_nm": -3.0}]), "layer[0].thickness_nm", "> 0"),
    (dict(layer=[{"name": "A", "material": "QD", "thickness_nm": 0.0}]), "layer[0].thickness_nm", "> 0"),
    (dict(layer=[{"name": "A", "material": "unobtainium", "thickness_nm": 10.0}]), "layer[0].material",
     "known: "),
    (dict(layer=[{"name": "A", "thickness_nm": 10.0}]), "layer[0].material", "required"),
    (dict(layer=[]), "layer", "at least one"),
    (dict(layer=[{"name": "A", "material": "Ag", "thickness_nm": 10.0}]), "layer[0].material", "metal"),
    (dict(cathode={"material": "TFB"}), "cathode.material", "semiconductor"),
    (dict(geometry={"widht_nm": 10.0}), "geometry.widht_nm", "unknown key"),
    (dict(geometry={"width_nm": "wide"}), "geometry.width_nm", "number"),
    (dict(geometry={"lateral": "wrap"}), "geometry.lateral", "'periodic'"),
    (dict(mesh={"interface_size_nm": 3.0}), "mesh.interface_size_nm", "thinnest layer"),
    (dict(mesh={"bulk_size_nm": 0.1}), "mesh.bulk_size_nm", ">= mesh.interface_size_nm"),
    (dict(mesh={"flat_lateral_size_nm": 500.0}), "mesh.flat_lateral_size_nm", "<= geometry.width_nm"),
    (dict(mesh={"flat_lateral_size_nm": -1.0}), "mesh.flat_lateral_size_nm", "> 0"),
    (dict(roughness={"rms_nm": 9.0, "correlation_length_nm": 10.0}, cathode={"thickness_nm": 40.0}),
     "roughness.rms_nm", "rough interface dips"),
    (dict(trench=[{"x_nm": 30.0, "width_nm": 8.0, "depth_nm": 30.0}]), "trench[0].depth_nm", "deeper"),
    (dict(roughness={"rms_nm": 30.0}, trench=[{"x_nm": 30.0, "width_nm": 8.0, "depth_nm": 3.0}]),
     "roughness.rms_nm", "no room in the modelled Ag"),
    (dict(trench=[{"x_nm": 58.0, "width_nm": 8.0, "depth_nm": 3.0}]), "trench[0].x_nm", "inside"),
    (dict(trench=[{"x_nm": 20.0, "width_nm": 8.0, "depth_nm": 3.0},
                  {"x_nm": 24.0, "width_nm": 8.0, "depth_nm": 3.0}]), "trench[1].x_nm", "overlap"),
    (dict(trench=[{"x_nm": 30.0, "width_nm": 8.0, "depth_nm": 3.0, "shape": "star"}]), "trench[0].shape",
     "'elliptic'"),
    (dict(interlayer={"name": "cathode"}), "interlayer.name", "reserved"),
    (dict(temperature_K=-4.0), "temperature_K", "> 0"),
    (dict(materials={"QD": {"trap_density_cm3": -1e17}}), "materials.QD.trap_density_cm3", ">= 0"),
    (dict(materials={"QD": {"tau_n_s": "long"}}), "materials.QD.tau_n_s", ">= 0"),
    (dict(materials={"QD": {"mu_n_cm2Vs": -1.0}}), "materials.QD.mu_n_cm2Vs", "> 0"),
    (dict(materials={"QD": {"band_gap_eV": 0.0}}), "materials.QD.band_gap_eV", "> 0"),
    (dict(materials={"QD": {"eps_r": 0.0}}), "materials.QD.eps_r", "> 0"),
    (dict(materials={"QD": {"Nc_cm3": 0.0}}), "materials.QD.Nc_cm3", "> 0"),
    (dict(materials={"ZnO-NP": {"Nd_cm3": -1.0}}), "materials.ZnO-NP.Nd_cm3", ">= 0"),
    (dict(materials={"TFB": {"emission_yield": 1.5}}), "materials.TFB.emission_yield", "from 0 to 1"),
    (dict(materials={"QD": {"mu_n_cm2vs": 1e-3}}), "materials.QD.mu_n_cm2vs", "mu_n_cm2Vs"),
    (dict(materials={"PMMA": {"base": "TFB", "eps_r": float("nan")}}), "materials.PMMA.eps_r", "> 0"),
    (dict(model={"outcoupling": 2.0}), "model.outcoupling", "from 0 to 1"),
    (dict(model={"outcouplng": 0.2}), "model.outcouplng", "allowed: "),
    (dict(hypothesis=[{"barrier_rise_eV": 0.2}]), "hypothesis[0].name", "required"),
    (dict(hypothesis=[{"name": "h"}]), "hypothesis[0]", "changes nothing"),
    (dict(hypothesis=[{"name": "h", "ions_cm2": 1e12, "ions_layer": "ZnO"}]), "hypothesis[0].ions_layer",
     "EML, ETL, HTL"),
    (dict(hypothesis=[{"name": "h", "ions_cm2": -1e12}]), "hypothesis[0].ions_cm2", ">= 0"),
    (dict(hypothesis=[{"name": "h", "charge_cm2": -1e12, "charge_near": "ITO"}]), "hypothesis[0].charge_near",
     "'Ag'"),
    (dict(hypothesis=[{"name": "h", "tunnel_to_nm": 2.0, "tunnel_from_nm": 0.0}]), "hypothesis[0].tunnel_from_nm",
     "> 0"),
    (dict(hypothesis=[{"name": "h", "barrier_rise_eV": 0.1}, {"name": "h", "ions_cm2": 1e12}]),
     "hypothesis[1].name", "twice"),
    (dict(hypothesis=[{"name": "h", "barrier_rise_eV": 0.1, "coverage": 0.0}]), "hypothesis[0].coverage", "> 0"),
    (dict(hypothesis=[{"name": "h", "barrier_rise_eV": 0.1, "coverage": 1.5}]), "hypothesis[0].coverage", "<= 1"),
    (dict(hypothesis=[{"name": "h", "ions_cm2": 1e12, "coverage": 0.5}]), "hypothesis[0].coverage",
     "nothing at the contact"),
    (dict(hypothesis=[{"name": "h", "barrier_rise_eV": 0.1, "period_nm": -5.0}]), "hypothesis[0].period_nm",
     ">= 0"),
])
def test_bad_input_names_the_field(changes, field, words):
    text = message(raw_case(**changes))
    assert text.startswith(field + ":"), text
    assert words in text, text


def test_bad_geometry_leaves_no_mesh_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FEMQLED_MESH_DIR", str(tmp_path))
    with pytest.raises(InputError):
        case = small_case()
        case["roughness"].update(rms_nm=9.0, correlation_length_nm=10.0)
        fmesh.ensure_mesh(case, MPI.COMM_SELF)
    assert not list(tmp_path.glob("*.msh")) and not list(tmp_path.glob("*.json"))


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(InputError, match="no such case file"):
        load_case(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[geometry\nwidth_nm = 3")
    with pytest.raises(InputError, match="not valid TOML"):
        load_case(bad)


def test_a_case_starts_from_its_base(tmp_path):
    """``base``: tables merge key by key, lists and values replace; the chain may not loop; errors name it."""
    import shutil
    shutil.copy("cases/default.toml", tmp_path / "default.toml")
    (tmp_path / "variant.toml").write_text('base = "default.toml"\ntitle = "variant"\n'
                                           '[geometry]\nwidth_nm = 150.0\n'
                                           '[[trench]]\nx_nm = 40.0\nwidth_nm = 8.0\ndepth_nm = 4.0\n'
                                           '[materials.Ag]\nacetate_D_cm2s = 3e-20\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deeper.toml").write_text('base = "../variant.toml"\n[ions]\nlayer = "ETL"\n')
    base, case = load_case(tmp_path / "default.toml"), load_case(tmp_path / "sub" / "deeper.toml")
    assert case["title"] == "variant" and case["ions"]["layer"] == "ETL"
    assert case["geometry"]["width_nm"] == 150.0 and case["geometry"]["lateral"] == base["geometry"]["lateral"]
    assert [t["x_nm"] for t in case["trench"]] == [40.0]               # a list is replaced, not appended to
    assert case["layer"] == base["layer"] and case["materials"]["Ag"]["acetate_D_cm2s"] == 3e-20
    assert "base" not in case or not case["base"]
    (tmp_path / "a.toml").write_text('base = "b.toml"\n')
    (tmp_path / "b.toml").write_text('base = "a.toml"\n')
    with pytest.raises(InputError, match="base.*each other"):
        load_case(tmp_path / "a.toml")
    (tmp_path / "c.toml").write_text('base = "missing.toml"\n')
    with pytest.raises(InputError, match="base.*no such case file"):
        load_case(tmp_path / "c.toml")
    (tmp_path / "d.toml").write_text('base = "default.toml"\n[geometry]\nwidth_nm = -1.0\n')
    with pytest.raises(InputError, match="geometry.width_nm"):
        load_case(tmp_path / "d.toml")


def test_a_case_file_sets_values_of_its_base(tmp_path):
    """``[set]``: the dotted paths of ``--set`` in a case file, applied after its base is merged (a layer by its
    name, quoted or unquoted keys, each file of a chain at its level, ``--set`` last); a [[layer]] list that names
    layers without materials is taken for a change of the base's stack and answered with [set]."""
    import shutil
    shutil.copy("cases/default.toml", tmp_path / "default.toml")
    (tmp_path / "thin.toml").write_text('base = "default.toml"\n[set]\n"layer.ETL.thickness_nm" = 20\n'
                                        'layer.HTL.thickness_nm = 25\ntrench.0.depth_nm = 5\n')
    (tmp_path / "thinner.toml").write_text('base = "thin.toml"\n[set]\nlayer.ETL.thickness_nm = 15\n')
    base = load_case(tmp_path / "default.toml")
    for name, etl in (("thin", 20.0), ("thinner", 15.0)):
        case = load_case(tmp_path / f"{name}.toml")
        assert [l["thickness_nm"] for l in case["layer"]] == [base["layer"][0]["thickness_nm"], 25.0,
                                                              base["layer"][2]["thickness_nm"], etl]
        assert [l["material"] for l in case["layer"]] == [l["material"] for l in base["layer"]]
        assert case["trench"][0]["depth_nm"] == 5.0 and case["materials"] == base["materials"]
    assert load_case(tmp_path / "thinner.toml", ["layer.ETL.thickness_nm=10"])["layer"][3]["thickness_nm"] == 10.0
    for text, field, words in [('[set]\nlayer.QD.thickness_nm = 20\n', "set.layer.QD.thickness_nm", "HIL, HTL"),
                               ('[set]\nlayer.ETL.thickness_nm = -20\n', "layer[3].thickness_nm", "> 0"),
                               ('set = 3\n', "set", "a table of dotted paths"),
                               ('[[layer]]\nname = "ETL"\nthickness_nm = 20\n', "layer", "use [set]")]:
        (tmp_path / "bad.toml").write_text('base = "default.toml"\n' + text)
        with pytest.raises(InputError) as e:
            load_case(tmp_path / "bad.toml")
        assert str(e.value).startswith(field + ":") and words in str(e.value), (text, str(e.value))
    whole = "".join(f'[[layer]]\nname = "{l["name"]}"\nmaterial = "{l["material"]}"\nthickness_nm = 30\n'
                    for l in base["layer"])
    (tmp_path / "whole.toml").write_text('base = "default.toml"\n' + whole)       # a whole new stack is fine
    assert [l["thickness_nm"] for l in load_case(tmp_path / "whole.toml")["layer"]] == [30.0] * 4


def test_set_changes_a_case_from_the_command_line():
    """``--set KEY=VALUE`` (:func:`femqled.case.apply_sets`): dotted paths into tables, a layer by its name or a
    trench by its index, a material table created where the case has none; the file itself is not changed; a
    path that names nothing, or a value the schema refuses, is one InputError naming it."""
    base = load_case("cases/default.toml")
    case = load_case("cases/default.toml", ["layer.ETL.thickness_nm=20", "ageing.barrier_rise_eV=0.4",
                                            "materials.ZnO-NP.Nd_cm3=1e16", "trench.0.depth_nm = 5",
                                            "layer.2.material=\"QD\"", "title=a thinner ETL"])
    assert [l["thickness_nm"] for l in case["layer"]] == [l["thickness_nm"] for l in base["layer"][:3]] + [20.0]
    assert case["ageing"]["barrier_rise_eV"] == 0.4 and case["materials"]["ZnO-NP"]["Nd_cm3"] == 1e16
    assert case["trench"][0]["depth_nm"] == 5.0 and case["title"] == "a thinner ETL"
    assert load_case("cases/default.toml") == base                       # nothing kept between loads
    from femqled.calibrate import get_value, with_values                 # calibration parameters: the same paths

    assert get_value(with_values(base, ["layer.ETL.thickness_nm"], [25.0]), "layer.ETL.thickness_nm") == 25.0
    with pytest.raises(InputError, match="^parameter layer.XYZ.thickness_nm: layer has no element 'XYZ'"):
        with_values(base, ["layer.XYZ.thickness_nm"], [25.0])
    for item, field, words in [("layer.XYZ.thickness_nm=3", "--set layer.XYZ.thickness_nm", "HIL, HTL, EML, ETL"),
                               ("trench.7.depth_nm=3", "--set trench.7.depth_nm", "index 0..0"),
                               ("layer.ETL=3", "--set layer.ETL", "add the key"),
                               ("title.x=3", "--set title.x", "a value, not a table"),
                               ("ageing.barrier_rise_eV", "--set ageing.barrier_rise_eV", "KEY=VALUE"),
                               ("layer.ETL.thickness_nm=-2", "layer[3].thickness_nm", "> 0"),
                               ("ageing.barier_rise_eV=0.4", "ageing.barier_rise_eV", "unknown key"),
                               ("geometry.width_nm=wide", "geometry.width_nm", "number")]:
        with pytest.raises(InputError) as e:
            load_case("cases/default.toml", [item])
        assert str(e.value).startswith(field + ":") and words in str(e.value), (item, str(e.value))
