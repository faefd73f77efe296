"""Reference servers for bench/bench_requests.py: what comparable work costs on the same stack.

Each module exposes a WSGI `app` that gunicorn serves exactly as it serves Learnpay (2 sync
workers). They are deliberately minimal and correct, not tuned: the point is a floor measured
in the same run, on the same machine, with the same libraries and versions.

- `hello`: Flask answering "Hello, World!" (the framework and server alone);
- `fortunes`: Flask + psycopg 3 + Jinja, the TechEmpower "fortunes" test: select 12 rows, add
  one in memory, sort, render an autoescaped HTML table;
- `stripe_call`: Flask + the same stripe library creating one Checkout Session on the same
  Stripe stand-in (no database, no auth), the way Stripe's own Checkout sample server does.
"""
