"""Routes of the webhooks blueprint."""
from flask import Blueprint

bp = Blueprint("webhooks", __name__, cli_group="webhooks")
