# The image every shoprank component runs in on a cluster (components' base_image).
# CPU by default; for GPU nodes build with --build-arg TORCH_SPEC="torch==2.13.0 --index-url <your CUDA wheel index>".
FROM python:3.11-slim
ARG TORCH_SPEC="torch==2.13.0"
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
WORKDIR /opt/shoprank
RUN pip install ${TORCH_SPEC}
COPY . /opt/shoprank
RUN pip install "/opt/shoprank[runtime]"
ENTRYPOINT []
