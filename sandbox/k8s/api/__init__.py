"""Helpers of the sandbox API server: resource table, errors, selectors, defaults, validation,
patches, server-side apply, authentication/RBAC, discovery and tables."""
