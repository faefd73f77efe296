"""Reference: the TechEmpower "fortunes" test on Learnpay's stack (Flask + psycopg 3 + Jinja).

gunicorn 'bench.refs.fortunes:app' with FORTUNES_DSN set (a libpq URL). One connection per
worker process, opened on the first request (after gunicorn forks), as a pool would hand it
out. The page: every row of `bench_fortunes` (12), plus one added in memory, sorted by
message, rendered through an autoescaped Jinja template (one message contains markup).
"""
import os

import psycopg
from flask import Flask, render_template

app = Flask(__name__)
_connection: psycopg.Connection | None = None

SCHEMA = "CREATE TABLE bench_fortunes (id integer PRIMARY KEY, message varchar(2048) NOT NULL)"
ROWS = [
    "fortune: No such file or directory",
    "A computer scientist is someone who fixes things that aren't broken.",
    "After enough decimal places, nobody gives a damn.",
    "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1",
    "A computer program does what you tell it to do, not what you want it to do.",
    "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen",
    "Any program that runs right is obsolete.",
    "A list is only as strong as its weakest link. — Donald Knuth",
    "Feature: A bug with seniority.",
    "Computers make very fast, very accurate mistakes.",
    '<script>alert("This should not be displayed in a browser alert box.");</script>',
    "フレームワークのベンチマーク",
]


def _cursor() -> psycopg.Cursor:
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(os.environ["FORTUNES_DSN"], autocommit=True)
    return _connection.cursor()


@app.get("/fortunes")
def fortunes():
    with _cursor() as cursor:
        rows = cursor.execute("SELECT id, message FROM bench_fortunes").fetchall()
    rows.append((0, "Additional fortune added at request time."))
    rows.sort(key=lambda row: row[1])
    return render_template("fortunes.html", fortunes=rows)
