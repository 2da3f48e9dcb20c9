"""Virtual instruments: turn simulated states into what the paper measured (MODEL.md sec. 5)."""
