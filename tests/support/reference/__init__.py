"""Ground-truth models that the solver's tests and validation study compare against.

- `siegert`: the diffusion-limit (Siegert) rate of a LIF neuron with Poisson input.
- `event_driven_lif`: an exact event-driven Monte Carlo of LIF neurons with Poisson
  input of fixed efficacies, with a standard error from independent batches.
"""

from tests.support.reference.event_driven_lif import (
    EventDrivenRate,
    lif_event_driven_rate,
    simulate_lif_event_driven,
)
from tests.support.reference.siegert import lif_diffusion_parameters, lif_siegert_rate, siegert_rate

__all__ = [
    "EventDrivenRate",
    "lif_diffusion_parameters",
    "lif_event_driven_rate",
    "lif_siegert_rate",
    "siegert_rate",
    "simulate_lif_event_driven",
]
