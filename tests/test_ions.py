"""Mobile ions (femqled/ions.py) against exact answers, then in the QLED (operation, measurement, ageing state).

- Poisson-Boltzmann with one ion species between blocking walls (Langmuir's counter-ion-only solution): anions
  of inventory N in a layer of thickness d, between charge-free layers of the same permittivity, at 0 V in a
  symmetric stack: a(s) = a_c / cos^2(k s) (s from the layer's centre), 2 k V_t tan(k d / 2) = q N / (2 eps),
  a_c = 2 k^2 eps V_t / q; outside, the field is uniform, +-q N / (2 eps).
- 1D electrostatics at a bias: the displacement jumps by q z N across the ion layer (Gauss), and the contact
  potentials differ by -E_1 L - (q z N / eps)(L - y_c), with y_c the ions' centroid (any distribution).
"""

import numpy as np
import pytest
from mpi4py import MPI
from scipy.optimize import brentq

from femqled.case import validate
from femqled.device import Device
from femqled.errors import InputError
from femqled.scaling import EPS0, N0_CM3, Q
from helpers import count_factorisations, raw_case, small_case

EPS_R = 3.0
WIDE = {"role": "semiconductor", "eps_r": EPS_R, "electron_affinity_eV": 2.0, "band_gap_eV": 4.0,
        "Nc_cm3": 1e10, "Nv_cm3": 1e10, "mu_n_cm2Vs": 1e-4, "mu_p_cm2Vs": 1e-4}


def ion_capacitor(d_host: float = 10.0, d_side: float = 20.0):
    """wide / host (ions) / wide, no carriers within reach, ohmic contacts on both sides (quasi-1D)."""
    return small_case(
        layer=[{"name": "A", "material": "wide", "thickness_nm": d_side},
               {"name": "H", "material": "wide", "thickness_nm": d_host}],
        interlayer={"name": "B", "material": "wide", "thickness_nm": d_side},
        geometry={"quasi_1d": True}, ions={"layer": "H"},
        mesh={"interface_size_nm": 0.05, "bulk_size_nm": 1.0, "grading": 0.1},
        contacts={"cathode": "ohmic"}, emission={"qd_layer": ""}, materials={"wide": WIDE})


def column(dev, values):
    """(y, values) along the left edge of a quasi-1D column, sorted in y, on every rank."""
    X = dev.S.tabulate_dof_coordinates()
    nown = dev.S.dofmap.index_map.size_local
    left = np.flatnonzero(X[:nown, 0] < 1e-9)
    y = np.concatenate(dev.comm.allgather(X[left, 1]))
    v = np.concatenate(dev.comm.allgather(np.asarray(values)[left]))
    o = np.argsort(y)
    return y[o], v[o]


@pytest.mark.mpi
def test_langmuir_profile_between_blocking_walls():
    N, d = 1e12, 10.0                                             # cm^-2, nm
    dev = Device(ion_capacitor(d))
    dev.ions.set_inventory(N)
    dev.ions.settle(0.0)
    assert dev.ions.inventory_cm2 == pytest.approx(N, rel=1e-8)
    Vt, eps = dev.sc.Vt, EPS_R * EPS0
    E_side = Q * N * 1e4 / (2 * eps)                              # V/m
    k = brentq(lambda k: 2 * k * Vt * np.tan(k * d * 1e-9 / 2) - E_side, 1e3, 0.999 * np.pi / (d * 1e-9))
    a_c = 2 * k ** 2 * eps * Vt / Q * 1e-6                        # cm^-3
    y, a = column(dev, dev.ions.frozen.x.array * N0_CM3)
    inside = (y >= 20.0 - 1e-9) & (y <= 30.0 + 1e-9)
    s = (y[inside] - 25.0) * 1e-9
    exact = a_c / np.cos(k * s) ** 2
    assert np.max(np.abs(a[inside] / exact - 1)) < 5e-3, (a[inside] / exact).round(4)
    assert a[inside].max() / a[inside].min() > 5                 # anions crowd at the walls: a real profile
    # outside: uniform field +- q N / (2 eps), pointing away from the (negative) ion layer on both sides
    yy, psi = column(dev, dev.u.x.array[0::3] * Vt)
    for lo, hi, sign in ((2.0, 15.0, -1.0), (35.0, 48.0, 1.0)):
        m = (yy > lo) & (yy < hi)
        E = -np.polyfit(yy[m] * 1e-9, psi[m], 1)[0]
        assert E == pytest.approx(-sign * E_side, rel=2e-3)


@pytest.mark.mpi
def test_gauss_law_and_centroid_at_a_bias():
    N, V = 2e12, 0.8
    dev = Device(ion_capacitor())
    dev.ions.set_inventory(N)
    dev.ions.settle(V)
    Vt, eps, L = dev.sc.Vt, EPS_R * EPS0, 50e-9
    y, psi = column(dev, dev.u.x.array[0::3] * Vt)
    fields = []
    for lo, hi in ((2.0, 15.0), (35.0, 48.0)):
        m = (y > lo) & (y < hi)
        fields.append(-np.polyfit(y[m] * 1e-9, psi[m], 1)[0])
    E1, E2 = fields
    Qs = -Q * N * 1e4                                             # C/m^2 (anions)
    assert eps * (E2 - E1) == pytest.approx(Qs, rel=1e-6)
    _, a = column(dev, dev.ions.frozen.x.array)
    # the lumped charge of a node: half of each host element next to it (the 1D box weights)
    h = np.diff(y)
    in_host = (y[:-1] >= 20.0 - 1e-9) & (y[1:] <= 30.0 + 1e-9)
    w = np.zeros_like(y)
    w[:-1] += np.where(in_host, h / 2, 0.0)
    w[1:] += np.where(in_host, h / 2, 0.0)
    y_c = np.sum(a * w * y) / np.sum(a * w) * 1e-9
    assert psi[-1] - psi[0] == pytest.approx(-E1 * L - Qs / eps * (L - y_c), rel=1e-6)
    # the anions sit towards the higher potential, the anode side at forward bias
    assert y_c * 1e9 < 25.0


@pytest.mark.mpi
def test_the_frozen_profile_covers_every_node_of_the_host_layer_on_any_partition():
    """The frozen ions live on the nodes that touch the host layer. On several ranks a node may touch host
    cells of other ranks only; it is still a host node (on 2 ranks the small 2D stack has two such nodes),
    found here independently as the nodes where the assembled integral of the host indicator times the hat
    function is positive; and the frozen inventory is the target."""
    from dolfinx import fem
    from dolfinx.fem import petsc as fem_petsc
    import ufl
    from petsc4py import PETSc

    dev = Device(small_case(geometry={"quasi_1d": False}, ions={"layer": "ETL"}), MPI.COMM_WORLD)
    b = fem_petsc.assemble_vector(fem.form(dev.ions.mask * ufl.TestFunction(dev.S) * ufl.dx))
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    b.ghostUpdate(addv=PETSc.InsertMode.INSERT_VALUES, mode=PETSc.ScatterMode.FORWARD)
    with b.localForm() as local:
        touching = np.flatnonzero(local.array > 0)
    b.destroy()
    assert dev.comm.allreduce(np.array_equal(dev.ions.host_nodes, touching), op=MPI.LAND)     # on every rank
    dev.ions.set_inventory(1e12)
    dev.ions.settle(0.0)
    assert dev.ions.inventory_cm2 == pytest.approx(1e12, rel=1e-10)


@pytest.fixture(scope="module")
def qled_with_ions():
    dev = Device(small_case(geometry={"quasi_1d": True}, ions={"layer": "ETL"}), MPI.COMM_WORLD)
    op0 = dev.operate(10.0)
    return dev, op0


@pytest.mark.mpi
def test_operation_moves_the_ions_and_measurement_does_not(qled_with_ions):
    dev, op0 = qled_with_ions
    dev.ions.set_inventory(3e12)
    op = dev.operate(10.0)
    assert dev.ions.inventory_cm2 == pytest.approx(3e12, rel=1e-7)
    assert op.J == pytest.approx(10.0, rel=1e-6)
    assert op.extra["eta_X"] > op0.extra["eta_X"]           # the anion layer keeps electrons from the dots
    assert op.V > op0.V
    frozen = dev.ions.frozen.x.array.copy()
    dev.sweep([2.0, 3.0, 0.5])                                # a measurement: the ions stay
    assert np.array_equal(dev.ions.frozen.x.array, frozen)
    assert dev.ions.inventory_cm2 == pytest.approx(3e12, rel=1e-7)
    again = dev.operate(10.0)                                  # back to operation: the same steady state
    assert again.V == pytest.approx(op.V, abs=1e-6)
    assert again.extra["eta_X"] == pytest.approx(op.extra["eta_X"], rel=1e-6)
    dev.ions.set_inventory(0.0)                                # no ions: the device without them
    back = dev.operate(10.0)
    assert back.V == pytest.approx(op0.V, abs=1e-6)
    assert dev.ions.inventory_cm2 == 0.0


@pytest.mark.mpi
@pytest.mark.parametrize("quasi_1d", [True, False])
def test_bordered_ions_give_the_secant_answer_with_fewer_factorisations(quasi_1d):
    """The ions' inventory met by the bordered Newton (their electrochemical potential eta one more unknown
    beside the state, and beside the bias at constant current) gives the steady states that the secant on eta
    (one Newton solve per step) gives: constant-current operation at two inventories, then the ions settled at
    3 V; the bias to 1e-6 V, the current to 1e-6 and the inventory to 1e-9 of themselves, with fewer LU
    factorisations."""
    answers, counts = {}, {}
    for how in ("secant", "bordered"):
        dev = Device(small_case(geometry={"quasi_1d": quasi_1d}, ions={"layer": "ETL"},
                                solver={"current_control": how},
                                mesh={"interface_size_nm": 0.5 if quasi_1d else 1.0}), MPI.COMM_WORLD)
        dev.operate(10.0)
        count = count_factorisations(dev)
        points = []
        for N in (1e12, 3e12):
            dev.ions.set_inventory(N)
            op = dev.operate(10.0, rtol=1e-8)
            points.append((op.V, op.J, dev.ions.inventory_cm2))
        op = dev.ions.settle(3.0)
        answers[how], counts[how] = points + [(op.V, op.J, dev.ions.inventory_cm2)], sum(count)
    for (V0, J0, N0), (V1, J1, N1) in zip(answers["secant"], answers["bordered"]):
        assert V1 == pytest.approx(V0, abs=1e-6)
        assert J1 == pytest.approx(J0, rel=1e-6)
        assert N1 == pytest.approx(N0, rel=1e-9)
    assert [a[1] for a in answers["bordered"][:2]] == pytest.approx([10.0, 10.0], rel=1e-6)
    assert counts["bordered"] < 0.5 * counts["secant"]


@pytest.mark.mpi
def test_skpm_reads_the_ions_frozen_or_held_at_its_bias(shared_tmp):
    """SKPM at 3 V (instruments/skpm.py): by default the ions stay where operation left them (the profile is the
    plain solve's); ``hold`` lets them settle at 3 V first, which moves the anions and the bias across the layers,
    and the reading says which it took. Without ions both are the same reading."""
    import json
    from pathlib import Path

    from femqled.instruments import skpm

    comm = MPI.COMM_WORLD
    dev = Device(small_case(geometry={"quasi_1d": True}, ions={"layer": "ETL"}), comm)
    dev.ions.set_inventory(3e12)
    dev.operate(10.0)
    frozen = dev.ions.frozen.x.array.copy()
    out = Path(shared_tmp)
    def recorded():                 # what rank 0 wrote, once it has
        comm.barrier()
        return json.loads((out / "skpm.json").read_text())["hold"]

    a = skpm.run(dev, 3.0, out)
    assert np.array_equal(dev.ions.frozen.x.array, frozen)
    assert recorded() is False
    b = skpm.run(dev, 3.0, out, hold=True)
    assert recorded() is True
    assert dev.ions.inventory_cm2 == pytest.approx(3e12, rel=1e-7)
    moved = comm.allreduce(float(np.max(np.abs(dev.ions.frozen.x.array - frozen), initial=0.0)), op=MPI.MAX)
    assert moved > 1e-3 * comm.allreduce(float(np.max(frozen, initial=0.0)), op=MPI.MAX)   # the anions moved
    assert max(abs(b["drops_V"][k] - a["drops_V"][k]) for k in a["drops_V"]) > 0.01
    plain = Device(small_case(geometry={"quasi_1d": True}), comm)
    c, d = skpm.run(plain, 3.0, out), skpm.run(plain, 3.0, out, hold=True)
    assert np.array_equal(c["psi_V"], d["psi_V"])


def test_ions_case_errors_name_the_field():
    with pytest.raises(InputError, match=r"ions\.layer.*'nope' is not a layer"):
        validate(raw_case(ions={"layer": "nope"}))
    with pytest.raises(InputError, match=r"ions\.charge.*nonzero"):
        validate(raw_case(ions={"layer": "ETL", "charge": 0}))
    with pytest.raises(InputError, match=r"ions\.sheet_cm2.*>= 0"):
        validate(raw_case(ions={"layer": "ETL", "sheet_cm2": -1.0}))


@pytest.mark.mpi
def test_ageing_releases_ions_with_the_contact_state_and_states_keep_them(shared_tmp):
    """With [ions], the inventory follows the contact state (sheet + released x mean theta) at every step; a
    checkpoint brings back the frozen profile of its operating state; a contact rebuilt with a fresh state takes
    the ions back; in the peel-off, rebuilding the ZnO with the Ag removes them, rebuilding the Ag alone does not,
    unless their release is reversible."""
    from pathlib import Path

    from femqled.ageing import Ageing
    from femqled.instruments import rebuild

    comm = MPI.COMM_WORLD
    released = 5e12
    case = small_case(geometry={"quasi_1d": True}, ions={"layer": "ETL", "released_cm2": released},
                      ageing={"hours": 400.0, "J_mA_cm2": 100.0, "first_step_h": 5.0, "max_dtheta": 0.2,
                              "max_dL": 0.2})
    out = Path(shared_tmp) / "age_ions"
    if comm.rank == 0:
        out.mkdir()
    comm.barrier()
    ag = Ageing(case, comm)
    rows = ag.run(out, progress=False)
    assert rows[-1]["theta_mean"] > 0.05
    for r in rows:
        assert r["ions_cm2"] == pytest.approx(released * r["theta_mean"], rel=1e-6, abs=1.0)
    end = ag.device.ions.frozen.x.array.copy()
    other = Ageing(case, comm)
    other.restore(out / "checkpoint.npz")
    assert np.allclose(other.device.ions.frozen.x.array, end, rtol=1e-9, atol=0.0)
    rebuild.set_state(other, other.acetate.c_initial, theta=np.zeros_like(other.theta))
    assert other.device.ions.inventory_cm2 == 0.0
    # the peel-off: the ions sit in the ETL, so a fresh ZnO film has none and a fresh Ag alone leaves them as aged
    res = rebuild.run(other, out / "checkpoint.npz", out, np.arange(0.0, 3.01, 0.5), J_mA_cm2=100.0)["states"]
    aged = res["aged"]["ions_cm2"]
    assert aged == pytest.approx(released * rows[-1]["theta_mean"], rel=1e-6)
    assert res["rebuilt ZnO/Ag"]["ions_cm2"] == 0.0
    assert res["rebuilt Ag"]["ions_cm2"] == pytest.approx(aged, rel=1e-9)
    assert res["rebuilt Ag"]["theta_mean"] < res["aged"]["theta_mean"]
    # released reversibly ([ions] reversible), they follow the rebuilt contact: a fresh Ag takes them back too
    other.case["ions"]["reversible"] = True
    back = rebuild.run(other, out / "checkpoint.npz", out, np.arange(0.0, 3.01, 0.5), J_mA_cm2=100.0)["states"]
    assert back["aged"]["ions_cm2"] == pytest.approx(aged, rel=1e-9)
    assert back["rebuilt ZnO/Ag"]["ions_cm2"] == 0.0
    assert back["rebuilt Ag"]["ions_cm2"] == pytest.approx(released * back["rebuilt Ag"]["theta_mean"], rel=1e-6,
                                                           abs=1.0)
    assert back["rebuilt Ag"]["ions_cm2"] < 0.5 * aged
    assert back["rebuilt Ag"]["EQE_recovery"] != pytest.approx(res["rebuilt Ag"]["EQE_recovery"], rel=1e-3)
