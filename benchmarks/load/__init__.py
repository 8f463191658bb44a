"""The pieces of `make bench-load` (benchmarks/bench_load.py): the stack, the counting SQS
proxy, the CPU sampler, the pure-compute probe, the load client and the report."""
