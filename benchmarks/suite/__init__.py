"""The benchmark runner's parts: one module per concern, driven by benchmarks/run.py.

- ``context``: the shared state of a run (options, cores, systems, long-lived servers, anomalies).
- ``systems``: the three systems (bare aiohttp, ours, aiohttp-rpc 2.0.0 in its own venv) and how to start
  their processes.
- ``processes``: child processes: pinning, servers, one-shot load runs, RSS.
- ``stats``: repeats in rotating order, medians, per-repeat ratios.
- ``report``: the table and the comparison with an earlier run.
- one module per scenario group: ``http_servers``, ``ws_servers``, ``ws_pairs``, ``http_clients``,
  ``inprocess_runs``, ``ws_memory``; each has ``GROUP`` and ``run(bench) -> rows``.
"""
