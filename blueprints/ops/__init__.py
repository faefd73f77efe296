"""Probes and metrics for operators and load balancers: /healthz, /readyz, /metrics."""
