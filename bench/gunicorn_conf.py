"""gunicorn settings of every server the bench scripts start (`-c bench/gunicorn_conf.py`).

Without `-c`, gunicorn reads ./gunicorn.conf.py from its working directory, and the scripts run
from the repository root: every server, the references and the Stripe stand-in included, then
took the production settings. Two of them spoil a benchmark: `max_requests` replaced each
worker after ~2,000 requests (a cold Learnpay worker re-imports the app and recompiles its
templates and statements, and the stand-in, whose state is in memory, forgot its Customers:
checkouts answered 404 "No such customer"), and the access log formatted a line per request
for stdout. Here: no recycling, no access log, no control socket; workers, worker class and
bind come from the command line.
"""
accesslog = None
max_requests = 0
control_socket_disable = True
