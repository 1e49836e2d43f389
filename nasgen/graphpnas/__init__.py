"""GraphPNAS (the seed `graphpnas.txt`): a learnt distribution of good architectures, as a graph generator."""
