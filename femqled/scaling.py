"""Units and scaling of the equations: documented here once.

femqled solves in dimensionless variables:

====================  ===========================================  ==============================
quantity              scale                                        value at 300 K
====================  ===========================================  ==============================
length                L0 = 1 nm (mesh coordinates are in nm)       1e-9 m
potential             V_t = k_B T / q                              25.85 mV
density               N0 = 1e18 cm^-3                              1e24 m^-3
mobility              mu0 = 1 cm^2 V^-1 s^-1                       1e-4 m^2 V^-1 s^-1
current density       J0 = q mu0 N0 V_t / L0                       4.14e4 A cm^-2
rate (per volume)     R0 = J0 / (q L0) = mu0 N0 V_t / L0^2         2.6e32 cm^-3 s^-1
time                  t0 = L0^2 / (mu0 V_t)                        3.87e-13 s
velocity              v0 = mu0 V_t / L0                            2.59e3 m s^-1
====================  ===========================================  ==============================

Poisson becomes  -div(eps_r lambda2 grad psi) = p - n + C  with  lambda2 = eps0 V_t / (q N0 L0^2)  (1.43 at
300 K: the Debye length of N0 in vacuum is ~1.2 nm, so the scaled problem is O(1) at interfaces). Carrier
densities are n = exp(psi + chi - phi_n + ln(Nc/N0)), p = exp(-psi - chi - Eg + phi_p + ln(Nv/N0)), with psi,
phi_n, phi_p, chi, Eg all in units of V_t: the electron affinity chi enters with the vacuum level, so band offsets
at heterojunctions are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

Q = 1.602176634e-19        # C
KB = 1.380649e-23          # J/K
EPS0 = 8.8541878128e-12    # F/m
H = 6.62607015e-34         # J s
M0 = 9.1093837015e-31      # kg

L0_M = 1e-9                # m
N0_CM3 = 1e18              # cm^-3
MU0_CM2VS = 1.0            # cm^2/Vs


@dataclass(frozen=True)
class Scales:
    """The scales at temperature ``T`` (K); SI unless the name says otherwise."""

    T: float = 300.0

    @property
    def Vt(self) -> float:               # V
        return KB * self.T / Q

    @property
    def N0(self) -> float:               # m^-3
        return N0_CM3 * 1e6

    @property
    def mu0(self) -> float:              # m^2/Vs
        return MU0_CM2VS * 1e-4

    @property
    def lambda2(self) -> float:          # dimensionless; multiply by eps_r
        return EPS0 * self.Vt / (Q * self.N0 * L0_M ** 2)

    @property
    def J0(self) -> float:               # A/m^2
        return Q * self.mu0 * self.N0 * self.Vt / L0_M

    @property
    def J0_mA_cm2(self) -> float:
        return self.J0 * 1e3 / 1e4

    @property
    def R0(self) -> float:               # m^-3 s^-1
        return self.mu0 * self.N0 * self.Vt / L0_M ** 2

    @property
    def t0(self) -> float:               # s
        return L0_M ** 2 / (self.mu0 * self.Vt)

    @property
    def v0(self) -> float:               # m/s
        return self.mu0 * self.Vt / L0_M

    # conversions from user units
    def density(self, n_cm3: float) -> float:
        return n_cm3 / N0_CM3

    def mobility(self, mu_cm2Vs: float) -> float:
        return mu_cm2Vs / MU0_CM2VS

    def potential(self, volts: float) -> float:
        return volts / self.Vt

    def velocity(self, v_cm_s: float) -> float:
        return v_cm_s * 1e-2 / self.v0

    def current_mA_cm2(self, j_scaled: float) -> float:
        return j_scaled * self.J0_mA_cm2
