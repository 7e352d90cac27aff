"""The built-in two- and three-variable model kinds.

Imported by `models` for its registrations. Conventions, as for the 1D kinds:
- Time is in seconds. Published models written per millisecond carry an explicit
  factor 1000 (1/ms = 1000/s) in front of their right-hand side; dimensionless models
  (FitzHugh-Nagumo, Hindmarsh-Rose) get a time unit as a parameter, in s.
- Conductance-based kinds keep the units of their source, chosen so that a current
  over a capacitance is V/s: pA/pF and uA/uF both equal 1 V/s = 1000 mV/s, hence
  `1000*(...)/C` for dv/dt in mV/s.
- The first variable is the one a threshold refers to (see `models` on spikes).
- `reference` names the source of every default; values chosen here are marked so.
"""

from __future__ import annotations

from .models import ModelKind, Parameter, register

# --- two variables, with a reset ------------------------------------------------------

register(ModelKind(
    name="adex",
    variables=("v", "w"),
    equations=(
        # g_L*(v - E_L) is nS*mV = pA, like w and I; pA/pF = V/s = 1000 mV/s.
        "dv/dt = 1000*(-g_L*(v - E_L) + g_L*Delta_T*exp((v - V_T)/Delta_T) - w + I)/C",
        # a*(v - E_L) is nS*mV = pA; tau_w in s gives pA/s.
        "dw/dt = (a*(v - E_L) - w)/tau_w",
    ),
    parameters={
        "C": Parameter(281.0, "pF", "membrane capacitance", positive=True),
        "g_L": Parameter(30.0, "nS", "leak conductance"),
        "E_L": Parameter(-70.6, "mV", "leak reversal potential"),
        "V_T": Parameter(-50.4, "mV", "threshold potential of the exponential term"),
        "Delta_T": Parameter(2.0, "mV", "slope factor", positive=True),
        "tau_w": Parameter(0.144, "s", "adaptation time constant", positive=True),
        "a": Parameter(4.0, "nS", "subthreshold adaptation"),
        "b": Parameter(80.5, "pA", "spike-triggered adaptation (0.0805 nA)"),
        "V_r": Parameter(-70.6, "mV", "reset potential"),
        "I": Parameter(0.0, "pA", "constant injected current"),
    },
    units={"v": "mV", "w": "pA"},
    # The threshold is the numerical cut-off v_peak = V_T + 5 Delta_T: there the
    # exponential term is e^5 g_L Delta_T and v diverges within C/g_L e^-5 ~ 0.06 ms.
    spike={"threshold": -40.4, "reset": {"v": "V_r", "w": "w + b"}, "refractory": 0.0},
    reference="Brette & Gerstner 2005, J Neurophysiol 94:3637 (equations; C, g_L, E_L, V_T, "
              "Delta_T, tau_w, a, b of their Fig. 2); V_r = -70.6 mV (= E_L) and the cut-off "
              "v_peak = V_T + 5 Delta_T as in the regular-spiking setting of Brian 2's "
              "Brette_Gerstner_2005 example; I = 0 chosen here",
    doc="Adaptive exponential integrate-and-fire neuron: v in mV, adaptation current w "
        "in pA.",
))

register(ModelKind(
    name="izhikevich",
    variables=("v", "u"),
    equations=(
        # The paper's time unit is the ms: 1000 converts its rates to per second.
        "dv/dt = 1000*(0.04*v^2 + 5*v + 140 - u + I)",
        "du/dt = 1000*a*(b*v - u)",
    ),
    parameters={
        "a": Parameter(0.02, "1/ms", "recovery rate (regular spiking)"),
        "b": Parameter(0.2, "1/ms", "sensitivity of u to v (regular spiking)"),
        "c": Parameter(-65.0, "mV", "reset of v (regular spiking)"),
        "d": Parameter(8.0, "mV/ms", "jump of u at a spike (regular spiking)"),
        "I": Parameter(0.0, "mV/ms", "constant drive (the paper drives RS cells with 10)"),
    },
    # u and I are rates in mV/ms, as the paper's v (mV) and t (ms) make them; the
    # constants 0.04 (1/(mV ms)), 5 (1/ms) and 140 (mV/ms) are fixed in the model.
    units={"v": "mV", "u": "mV/ms"},
    spike={"threshold": 30.0, "reset": {"v": "c", "u": "u + d"}, "refractory": 0.0},
    reference="Izhikevich 2003, IEEE Trans Neural Netw 14:1569 (equations, spike at 30 mV, "
              "regular-spiking a, b, c, d); I = 0 chosen here",
    doc="Izhikevich's simple model: quadratic v, linear recovery u; regular spiking.",
))

register(ModelKind(
    name="conductance_lif",
    variables=("v", "g"),
    equations=(
        "dv/dt = ((E_l - v) + g*(E_e - v))/tau",
        "dg/dt = -g/tau_g",
    ),
    parameters={
        "tau": Parameter(0.02, "s", "membrane time constant", positive=True),
        "E_l": Parameter(-65.0, "mV", "leak (resting) potential"),
        "E_e": Parameter(0.0, "mV", "excitatory reversal potential"),
        "tau_g": Parameter(0.005, "s", "decay time constant of the conductance", positive=True),
    },
    # g is the synaptic conductance in units of the leak conductance: an input jumps g.
    units={"v": "mV", "g": "1"},
    spike={"threshold": -55.0, "reset": -65.0, "refractory": 0.0},
    reference="Richardson 2004, Phys Rev E 69:051918 (conductance-based LIF); all defaults "
              "as in MIIND's Conductance2D example (tau 20 ms, E_r -65 mV, E_e 0 mV, tau_s "
              "5 ms, threshold -55 mV, reset -65 mV, no refractory period), the model of de "
              "Kamps, Lepperod & Lai 2019, PLoS Comput Biol",
    doc="Leaky integrate-and-fire neuron with an exponentially decaying excitatory "
        "conductance g (in units of the leak conductance); Poisson inputs jump g.",
))

# --- two variables, spikes counted or none ------------------------------------------

register(ModelKind(
    name="fitzhugh_nagumo",
    variables=("v", "w"),
    equations=(
        "dv/dt = (v - v^3/3 - w + I)/tau_v",
        "dw/dt = (v + a - b*w)/tau_w",
    ),
    parameters={
        "a": Parameter(0.7, "1", "recovery offset"),
        "b": Parameter(0.8, "1", "recovery damping"),
        "tau_v": Parameter(0.001, "s", "time unit of the dimensionless model", positive=True),
        "tau_w": Parameter(0.0125, "s", "recovery time constant (12.5 time units)",
                           positive=True),
        "I": Parameter(0.0, "1", "constant drive; oscillates for I between about 0.34 and 1.4"),
    },
    units={"v": "1", "w": "1"},
    spike={},
    reference="FitzHugh 1961, Biophys J 1:445 and Nagumo, Arimoto & Yoshizawa 1962, Proc IRE "
              "50:2061; this form (FitzHugh's x = -v, y = w, z = -I) with a = 0.7, b = 0.8 "
              "(FitzHugh's) and tau_w/tau_v = 12.5 as in Izhikevich & FitzHugh 2006, "
              "Scholarpedia 1:1349; time unit tau_v = 1 ms and I = 0 chosen here",
    doc="FitzHugh-Nagumo relaxation oscillator, dimensionless; no threshold or reset "
        "(set [model.spike] threshold to count spikes).",
))

register(ModelKind(
    name="morris_lecar",
    variables=("v", "w"),
    equations=(
        # m_inf = (1 + tanh((v - V_1)/V_2))/2; mS*mV = uA and uA/uF = V/s = 1000 mV/s.
        "dv/dt = 1000*(I - g_L*(v - V_L) - g_Ca*0.5*(1 + tanh((v - V_1)/V_2))*(v - V_Ca)"
        " - g_K*w*(v - V_K))/C",
        # phi*(w_inf - w)/tau_w with w_inf = (1 + tanh((v - V_3)/V_4))/2 and
        # 1/tau_w = cosh((v - V_3)/(2 V_4)), per ms: 1000 converts to per second.
        "dw/dt = 1000*phi*(0.5*(1 + tanh((v - V_3)/V_4)) - w)*cosh((v - V_3)/(2*V_4))",
    ),
    parameters={
        "C": Parameter(20.0, "uF/cm^2", "membrane capacitance", positive=True),
        "g_L": Parameter(2.0, "mS/cm^2", "leak conductance"),
        "g_Ca": Parameter(4.0, "mS/cm^2", "calcium conductance (4.4 for type II)"),
        "g_K": Parameter(8.0, "mS/cm^2", "potassium conductance"),
        "V_L": Parameter(-60.0, "mV", "leak reversal potential"),
        "V_Ca": Parameter(120.0, "mV", "calcium reversal potential"),
        "V_K": Parameter(-84.0, "mV", "potassium reversal potential"),
        "V_1": Parameter(-1.2, "mV", "half-activation of m_inf"),
        "V_2": Parameter(18.0, "mV", "slope of m_inf"),
        "V_3": Parameter(12.0, "mV", "half-activation of w_inf (2 for type II)"),
        "V_4": Parameter(17.4, "mV", "slope of w_inf (30 for type II)"),
        "phi": Parameter(0.067, "1/ms", "rate of w (0.04 for type II)"),
        "I": Parameter(0.0, "uA/cm^2", "constant injected current; fires above about 40"),
    },
    units={"v": "mV", "w": "1"},
    # Spikes peak near +30 mV from troughs below -40 mV: counted where v crosses 0 mV.
    spike={"threshold": 0.0},
    reference="Morris & Lecar 1981, Biophys J 35:193 (equations); type I (saddle-node on "
              "limit cycle) parameters of Rinzel & Ermentrout 1998, in Koch & Segev, Methods "
              "in Neuronal Modeling, 2nd ed., ch. 7 (also Ermentrout & Terman 2010, Table "
              "3.1); threshold 0 mV and I = 0 chosen here",
    doc="Morris-Lecar neuron, type I excitability; spikes are counted at the threshold, "
        "there is no reset.",
))

register(ModelKind(
    name="nap_half_centre",
    variables=("v", "h"),
    equations=(
        # I_NaP = g_NaP m_inf(v) h (v - E_Na), m_inf = 1/(1 + exp((v - theta_m)/sigma_m));
        # nS*mV = pA and pA/pF = V/s = 1000 mV/s.
        "dv/dt = 1000*(I - g_NaP*h*(v - E_Na)/(1 + exp((v - theta_m)/sigma_m))"
        " - g_L*(v - E_L))/C",
        # (h_inf - h)/tau_h, h_inf = 1/(1 + exp((v - theta_h)/sigma_h)),
        # tau_h = tau_h_max/cosh((v - theta_h)/(2 sigma_h)) with tau_h_max in s.
        "dh/dt = (1/(1 + exp((v - theta_h)/sigma_h)) - h)*cosh((v - theta_h)/(2*sigma_h))"
        "/tau_h_max",
    ),
    parameters={
        "C": Parameter(21.0, "pF", "membrane capacitance", positive=True),
        "g_NaP": Parameter(2.8, "nS", "persistent sodium conductance"),
        "g_L": Parameter(2.8, "nS", "leak conductance"),
        "E_Na": Parameter(50.0, "mV", "sodium reversal potential"),
        "E_L": Parameter(-65.0, "mV", "leak reversal potential"),
        "theta_m": Parameter(-40.0, "mV", "half-activation of NaP"),
        "sigma_m": Parameter(-6.0, "mV", "slope of NaP activation (negative: activates "
                                         "with depolarisation)"),
        "theta_h": Parameter(-48.0, "mV", "half-inactivation of NaP"),
        "sigma_h": Parameter(6.0, "mV", "slope of NaP inactivation"),
        "tau_h_max": Parameter(10.0, "s", "largest inactivation time constant", positive=True),
        "I": Parameter(0.0, "pA", "constant injected current; bursts for I from about 15 to 30 pA"),
    },
    units={"v": "mV", "h": "1"},
    # Without the fast Na/K currents a burst is a plateau near -35..-20 mV between
    # silent phases below -50 mV: a burst is counted where v crosses -40 mV.
    spike={"threshold": -40.0},
    reference="Butera, Rinzel & Smith 1999, J Neurophysiol 82:382, model 1 (NaP and leak "
              "kinetics and all parameter values), with the spike-generating I_Na and I_K "
              "left out, as in the half-centre models of Rybak and colleagues (e.g. Daun, "
              "Rubin & Rybak 2009, J Comput Neurosci 27:3); threshold -40 mV and I = 0 "
              "chosen here",
    doc="Persistent-sodium burster (v, NaP inactivation h), the unit of half-centre "
        "oscillators; bursts are counted at the threshold, there is no reset.",
))

# --- three variables -------------------------------------------------------------------

register(ModelKind(
    name="hindmarsh_rose",
    variables=("x", "y", "z"),
    equations=(
        "dx/dt = (y - a*x^3 + b*x^2 - z + I)/tau",
        "dy/dt = (c - d*x^2 - y)/tau",
        "dz/dt = r*(s*(x - x_R) - z)/tau",
    ),
    parameters={
        "a": Parameter(1.0, "1", "cubic coefficient of x"),
        "b": Parameter(3.0, "1", "quadratic coefficient of x"),
        "c": Parameter(1.0, "1", "offset of y"),
        "d": Parameter(5.0, "1", "quadratic coefficient in y"),
        "r": Parameter(0.006, "1", "slowness of the adaptation z"),
        "s": Parameter(4.0, "1", "coupling of z to x"),
        "x_R": Parameter(-1.6, "1", "resting x of the slow subsystem"),
        "I": Parameter(3.25, "1", "constant drive (bursting)"),
        "tau": Parameter(0.001, "s", "time unit of the dimensionless model", positive=True),
    },
    units={"x": "1", "y": "1", "z": "1"},
    # Spikes peak above x = 1.6, silent phases stay below 0: counted where x crosses 1.
    spike={"threshold": 1.0},
    reference="Hindmarsh & Rose 1984, Proc R Soc Lond B 221:87 (equations; a = 1, b = 3, "
              "c = 1, d = 5, s = 4, x_R = -8/5); r = 0.006 and I = 3.25, the irregular "
              "bursting regime of the later literature; time unit tau = 1 ms and threshold "
              "x = 1 chosen here",
    doc="Hindmarsh-Rose burster in dimensionless units (one time unit = tau); spikes are "
        "counted at the threshold, there is no reset.",
))

register(ModelKind(
    name="conductance_lif_3d",
    variables=("v", "g_e", "g_i"),
    equations=(
        "dv/dt = ((E_l - v) + g_e*(E_e - v) + g_i*(E_i - v))/tau",
        "dg_e/dt = -g_e/tau_e",
        "dg_i/dt = -g_i/tau_i",
    ),
    parameters={
        "tau": Parameter(0.02, "s", "membrane time constant", positive=True),
        "E_l": Parameter(-65.0, "mV", "leak (resting) potential"),
        "E_e": Parameter(0.0, "mV", "excitatory reversal potential"),
        "E_i": Parameter(-80.0, "mV", "inhibitory reversal potential"),
        "tau_e": Parameter(0.005, "s", "decay time constant of g_e", positive=True),
        "tau_i": Parameter(0.01, "s", "decay time constant of g_i", positive=True),
    },
    # Conductances in units of the leak conductance: inputs jump g_e or g_i.
    units={"v": "mV", "g_e": "1", "g_i": "1"},
    spike={"threshold": -55.0, "reset": -65.0, "refractory": 0.0},
    reference="as conductance_lif (MIIND's Conductance2D example, de Kamps, Lepperod & Lai "
              "2019) for tau, E_l, E_e, tau_e, threshold and reset; E_i = -80 mV and tau_i = "
              "10 ms from Vogels & Abbott 2005, J Neurosci 25:10786 (also their tau_e 5 ms, "
              "E_e 0 mV)",
    doc="Leaky integrate-and-fire neuron with excitatory and inhibitory conductances "
        "(in units of the leak conductance), each decaying exponentially; with g_i = 0 it "
        "is conductance_lif.",
))
