"""Routes of the checkout blueprint."""
from flask import Blueprint

bp = Blueprint("checkout", __name__)
