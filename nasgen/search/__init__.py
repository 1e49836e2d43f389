"""The searches of the macro space: HL-Evo (paper Algorithm 1) and the baselines on the same scorer and budget."""
