"""HTTP adapters, one package per audience or channel; each has routes.py (and forms.py).

What they share sits here: forms.py (EmptyForm, errors_onto), htmx.py, throttle.py,
security_headers.py.
"""
