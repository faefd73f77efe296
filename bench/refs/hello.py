"""Reference: Flask's hello world (gunicorn 'bench.refs.hello:app')."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!", 200, {"Content-Type": "text/plain"}
