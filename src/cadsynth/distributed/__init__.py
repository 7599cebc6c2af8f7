"""Running the CADS loop on a Ray cluster: ``executor.kind: ray`` (the ``ray`` extra; see docs/distributed.md).

The driver keeps the loop, the run store and the endpoint pools; renders, local judges, the sandbox and the bytes
of HTTP requests run on the cluster.
"""
