# One image for the five services: `python -m services.<name>` chooses which one runs.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OBS_HTTP_HOST=0.0.0.0
WORKDIR /app
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
COPY requirements.lock .
RUN pip install --no-cache-dir -r requirements.lock
COPY shared/ shared/
COPY services/ services/
COPY simulated_portals/ simulated_portals/
RUN useradd --system --uid 10001 observatoire
USER observatoire
