"""The `nasgen` command (``cli.main``): the outermost layer, over flows, benchmarks and deployments."""
