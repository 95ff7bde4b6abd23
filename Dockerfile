# pitwall services image (worker, sink, gateway, replay) for compose.yaml: the runtime
# packages only, at uv.lock's pins and hashes (no test tools: they are the `dev` extra).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 UV_NO_CACHE=1
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN pip install "uv==0.13.10" \
    && uv export --frozen --no-emit-project -o /tmp/runtime.txt \
    && pip install --require-hashes -r /tmp/runtime.txt \
    && pip uninstall -y uv && rm /tmp/runtime.txt
COPY . .
RUN pip install --no-deps -e .
ENTRYPOINT ["pitwall"]
