# pitwall services image (worker, sink, gateway, replay) for compose.yaml.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt pyproject.toml README.md ./
RUN pip install -r requirements.txt
COPY . .
RUN pip install --no-deps -e .
ENTRYPOINT ["pitwall"]
