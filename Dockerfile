# The gateway's image: python:3.11-slim, the pinned requirements, a non-root user, gunicorn as PID 1.
#
#   docker build -t engadi-gateway .
#   docker run --rm --env-file gateway.env engadi-gateway flask --app wsgi db upgrade   # release step
#   docker run -d --env-file gateway.env -p 8000:8000 engadi-gateway
#
# Written to the usual conventions but not built here: the development machine has no Docker
# engine (README.md, "Deployment").
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ENVIRONMENT=production \
    PORT=8000

# ENVIRONMENT=production: without a SECRET_KEY of its own the container refuses to start (one
# line naming SECRET_KEY) instead of signing tokens with the well-known development key.
WORKDIR /app
# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt .
RUN pip install -r requirements.txt

RUN useradd --system --uid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin gateway
COPY . .
# The code stays root's (read-only to the gateway); the gateway writes only instance/, where
# the embedded SQLite database lives when DATABASE_URL is not set.
RUN mkdir -p instance && chown gateway:gateway instance
USER gateway

EXPOSE 8000
# Exec form: gunicorn is PID 1 and receives docker stop's SIGTERM itself (graceful stop, 30 s).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
