"""`python -m stripe_sandbox`: run only the sandbox (settings from the environment).

SANDBOX_PORT (5001), SANDBOX_WEBHOOK_URLS (comma list), STRIPE_WEBHOOK_SECRET (first of a
comma list; generated and printed when unset).
"""
import os
import sys
import time

from .devrun import start_sandbox


def main() -> int:
    port = int(os.environ.get("SANDBOX_PORT", "5001"))
    handle = start_sandbox({"PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}, port)
    print(f" * Stripe sandbox on http://127.0.0.1:{port} — test mode, payments are simulated.\n"
          f" * Events: http://127.0.0.1:{port}/_sandbox/events\n"
          f" * Webhook secret: {handle.settings['WEBHOOK_SECRET']}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        handle.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
