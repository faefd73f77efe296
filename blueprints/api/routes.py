"""Routes of the JSON API blueprint."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")
