# syntax=docker/dockerfile:1
# The one image every shoprank container runs: kfp components (base_image), the model server
# (`shoprank serve`), the Ray tuning job (python -m shoprank.trainer.tune_cli) and the torchrun
# fine-tune (torchrun --module shoprank.trainer.cli).
#   CPU:  docker build -t REGISTRY/shoprank:0.1.0 .
#   CUDA: docker build --build-arg VARIANT=cuda -t REGISTRY/shoprank:0.1.0-cuda .
# Two stages: `build` has the compilers and fills a virtualenv; the final stage copies only that
# virtualenv onto a slim Python, has no build tools, and runs as the non-root user 10001. With a
# read-only root filesystem the containers need only /tmp writable (HOME and caches live there).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG VARIANT=cpu
ARG TORCH_VERSION=2.13.0
# CPU: PyTorch's CPU-only wheels (no CUDA libraries). CUDA: the default Linux build of the
# package index, which brings the CUDA runtime libraries as wheels; the node provides the driver.
ARG TORCH_INDEX_CPU=https://download.pytorch.org/whl/cpu
ARG TORCH_INDEX_CUDA=https://pypi.org/simple
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/shoprank/bin:$PATH
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/shoprank
RUN case "${VARIANT}" in \
        cpu) index="${TORCH_INDEX_CPU}" ;; \
        cuda) index="${TORCH_INDEX_CUDA}" ;; \
        *) echo "VARIANT: expected cpu or cuda, got ${VARIANT}" >&2; exit 1 ;; \
    esac \
    && pip install --no-cache-dir "torch==${TORCH_VERSION}" --index-url "${index}"
WORKDIR /src
COPY . /src
# torch is already there, so the runtime extra keeps it; the project's own pins decide the rest.
RUN pip install --no-cache-dir "/src[runtime]" \
    && shoprank --help > /dev/null

FROM ${PYTHON_IMAGE}
ARG VARIANT=cpu
LABEL org.opencontainers.image.title="shoprank" \
      org.opencontainers.image.description="Kubeflow components, model server and training jobs of the shoprank reranker" \
      org.opencontainers.image.licenses="Apache-2.0" \
      io.shoprank.variant="${VARIANT}"
# DL3064 reads TOKENIZERS_PARALLELISM as a secret ("TOKEN"); it is the tokenizers' thread switch.
# hadolint ignore=DL3064
ENV PATH=/opt/shoprank/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    MPLCONFIGDIR=/tmp/matplotlib \
    RAY_USAGE_STATS_ENABLED=0
RUN groupadd --gid 10001 shoprank \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin shoprank
COPY --from=build /opt/shoprank /opt/shoprank
# The entry points every workload uses must start in the final stage (no compilers here).
RUN shoprank --help > /dev/null \
    && torchrun --help > /dev/null \
    && python -c "import shoprank.trainer.cli, shoprank.serving, kfp, kserve, ray"
USER 10001:10001
WORKDIR /tmp
EXPOSE 8080
CMD ["shoprank", "--help"]
