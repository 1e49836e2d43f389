"""NAS-Bench-201 as a benchmark space beside GraphNet: architectures, the NB201 network, the GraphNet cell of
each architecture, and the vendored ground truth (CIFAR-10 accuracy of all 15,625, NASLib's proxies on 491)."""
