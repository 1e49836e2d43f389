"""Learning curves as data (NAS-Bench-x11, dissertation ch. 5): the curve table of trained networks, an SVD
surrogate that outputs noisy curves, and learning-curve extrapolation (LcSVR, WPM-style) for cheap selection."""
