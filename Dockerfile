# Tidewatch: one image for the web server (gunicorn), the Celery worker and beat, and the demo
# cluster. Build: docker build -t tidewatch:0.1.0 .   (README "Deploy")
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Exact versions from the lock; its test and lint tools stay out of the image.
COPY requirements.lock ./
RUN grep -vE '^(playwright|pytest|pytest-django|pytest-xdist|ruff|hypothesis)==' requirements.lock \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY manage.py ./
COPY clusters ./clusters
COPY dashboard ./dashboard
COPY templates ./templates
COPY static ./static

# Static files are collected now, with hashed names, and served by WhiteNoise from gunicorn.
# Nothing is written at run time outside /tmp (read-only root filesystems work).
ENV TIDEWATCH_COLLECTED_STATIC=true \
    TIDEWATCH_STATIC_ROOT=/app/staticfiles \
    TIDEWATCH_VAR_DIR=/tmp/tidewatch
RUN SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput

# A non-root user; /shared is where docker-compose's demo cluster writes its kubeconfig.
RUN useradd --system --uid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin \
        tidewatch \
    && mkdir -p /shared \
    && chown tidewatch /shared
USER 10001:10001

EXPOSE 8000
# Workers: WEB_CONCURRENCY (gunicorn reads it; default 1). More flags: GUNICORN_CMD_ARGS.
CMD ["gunicorn", "dashboard.wsgi:application", "--bind", "0.0.0.0:8000", "--worker-tmp-dir", "/dev/shm", "--timeout", "60"]
