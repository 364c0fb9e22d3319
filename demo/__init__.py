"""`make demo`: the gateway in front of nine stand-in Mission Engadi services, on one machine.

Not part of the gateway: it drives the gateway the way an operator does (gunicorn, the flask
CLI) and starts small stand-in services for it to route to. See ``python -m demo --help``.
"""
