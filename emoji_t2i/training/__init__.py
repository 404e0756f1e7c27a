"""Training: resolved config, run directory and resume contract, callbacks, the fit loop."""
