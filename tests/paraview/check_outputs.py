"""Open femqled's ParaView files with ParaView itself (pvbatch) and check field names, time steps and ranges.

Run by scripts/run-paraview-check inside the 'paraview' root filesystem (Debian's python3-paraview cannot be
installed beside PyVista's VTK). Usage: pvbatch tests/paraview/check_outputs.py RESULTS_DIR; exit 1 on failure.
"""

import sys
from pathlib import Path

from paraview.simple import ADIOS2VTXReader, OpenDataFile

failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        failures.append(what)


def arrays(reader, kind):
    data = reader.PointData if kind == "point" else reader.CellData
    return {name: data[name].GetRange() for name in data.keys()}


root = Path(sys.argv[1])

mesh = OpenDataFile(str(root / "mesh" / "mesh.xdmf"))
mesh.UpdatePipeline()
cells = arrays(mesh, "cell")
check(mesh.GetDataInformation().GetNumberOfPoints() > 0, "mesh.xdmf has points")
check({"regions", "facets"} <= set(cells), f"mesh.xdmf cell arrays {sorted(cells)}")
check(cells.get("regions", (0, 0))[0] >= 1, f"region tags {cells.get('regions')}")

fields = ADIOS2VTXReader(FileName=str(root / "age" / "ageing_fields.bp"))
fields.UpdatePipeline()
pts = arrays(fields, "point")
check({"psi", "phi_n", "phi_p", "n", "p", "R", "R_X", "R_trion", "R_trap"} <= set(pts), f"ageing_fields.bp arrays {sorted(pts)}")
check(list(fields.TimestepValues) == [0.0, 10.0], f"ageing_fields.bp time steps {list(fields.TimestepValues)}")
check(pts["n"][0] >= 0 and pts["p"][0] >= 0 and pts["n"][1] > 1e15, f"densities n {pts['n']} p {pts['p']}")
check(-20 < pts["psi"][0] < pts["psi"][1] < 20, f"psi range {pts['psi']} V")
check(abs(pts["phi_n"][1] - pts["phi_p"][1]) < 1e-6 and 0.5 < pts["phi_p"][1] < 3,
      f"quasi-Fermi levels end at the bias: phi_n {pts['phi_n']} phi_p {pts['phi_p']}")

vectors = ADIOS2VTXReader(FileName=str(root / "age" / "ageing_fields_vectors.bp"))
vectors.UpdatePipeline()
check({"E", "J_n", "J_p"} <= set(arrays(vectors, "point")), "ageing_fields_vectors.bp has E, J_n, J_p")

acetate = ADIOS2VTXReader(FileName=str(root / "age" / "ageing_acetate.bp"))
acetate.UpdatePipeline()
a = arrays(acetate, "point")
check("acetate_cm3" in a and 0 <= a["acetate_cm3"][0] and 1e21 < a["acetate_cm3"][1] < 4e21,
      f"acetate range {a.get('acetate_cm3')} cm^-3")

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
