"""Kubernetes half of the sandbox: API server (store, HTTP front end) and control plane."""
