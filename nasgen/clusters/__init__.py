"""Cell families: a Gaussian mixture on transformed ZC vectors (stage `clusters`); ``gmm`` fits and reads it."""
