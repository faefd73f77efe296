"""Routes of the checkout blueprint."""
from flask import Blueprint

bp = Blueprint("checkout", __name__, cli_group="payments")
