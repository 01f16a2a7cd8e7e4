# The gateway in a container, started exactly as the Procfile says (tests/unit/test_deploy.py keeps
# the two in step). State (the SQLite store, the token pool file, the generated admin token) lives
# in the /data volume:
#   docker build -t cursor-api . && docker run -p 3000:3000 -v cursor-api-data:/data cursor-api
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A user of its own: the server never runs as root. Its home holds gunicorn's control socket.
RUN useradd --create-home --home-dir /home/cursor-api --uid 10001 --user-group cursor-api

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .

RUN mkdir -p /data && chown cursor-api:cursor-api /data
ENV DATA_DIR=/data \
    TOKEN_LIST_FILE=/data/.tokens \
    DEBUG_LOG_FILE=/data/debug.log \
    PORT=3000
VOLUME ["/data"]

USER cursor-api
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ['PORT'], timeout=4)"
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
