"""The JSON API under /api: the spec's endpoints for other clients."""
