"""Local, API-faithful stand-in of a small Kubernetes cluster (and later Jenkins).

Test instrument only; never part of the built collection. See sandbox/README.md.
"""
