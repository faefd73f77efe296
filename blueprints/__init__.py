"""HTTP adapters, one package per audience or channel; each has routes.py (and forms.py)."""
