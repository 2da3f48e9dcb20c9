"""femqled: a finite-element simulator of how quantum-dot LEDs change while they operate.

Units and scaling are documented once, in :mod:`femqled.scaling`. The model is in ``docs/model.md``.
"""

__version__ = "0.1.0"
