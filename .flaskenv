# Read by the flask command (python-dotenv): `flask seed` works without --app.
FLASK_APP=wsgi
