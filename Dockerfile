# The cluster image: the harness with its dependencies, the sandbox (bubblewrap, util-linux), the
# Vulkan loader and the GL/X libraries Dawn loads to reach an NVIDIA GPU through the NVIDIA
# container runtime or Apptainer's --nv, Mesa's CPU Vulkan driver for nodes without a GPU, and
# CUDA's nvcc for CUDA kernels. Debian 12, with the same packages as .ci/setup-system.sh.
#   docker build -t mlsys:0.1 .
#   apptainer build mlsys.sif docker-daemon://mlsys:0.1
# How to run it on Slurm: harness/batch/README.md.
FROM node:20-bookworm-slim

ARG CUDA_PACKAGE_VERSION=12-8
ENV DEBIAN_FRONTEND=noninteractive

# Debian 12's own Mesa (22.3) gives Dawn no adapter; bookworm-backports' (25) does. libvulkan1 is
# the loader; libegl1, libgl*, libglx0, libx11 and libxext are what NVIDIA's Vulkan driver (mounted
# from the host) loads. NVIDIA's CUDA repository provides nvcc and the CUDA runtime headers.
RUN sed -i 's/^Suites: bookworm bookworm-updates$/& bookworm-backports/' /etc/apt/sources.list.d/debian.sources \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl bubblewrap util-linux tini g++ make python3 \
      libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 libx11-6 libxext6 libxcb1 \
 && apt-get install -y --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 \
 && curl -fsSL -o /tmp/cuda-keyring.deb https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/cuda-keyring_1.1-1_all.deb \
 && dpkg -i /tmp/cuda-keyring.deb \
 && rm /tmp/cuda-keyring.deb \
 && apt-get update \
 && apt-get install -y --no-install-recommends cuda-nvcc-${CUDA_PACKAGE_VERSION} cuda-cudart-dev-${CUDA_PACKAGE_VERSION} \
 && rm -rf /var/lib/apt/lists/*

# The NVIDIA runtime mounts the driver's libraries (with the graphics capability) but not always
# the Vulkan ICD file that tells the loader where they are.
RUN mkdir -p /etc/vulkan/icd.d \
 && printf '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3"}}\n' >/etc/vulkan/icd.d/nvidia_icd.json

ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics \
    PATH=/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    XDG_RUNTIME_DIR=/tmp

# The harness, where the batch job script expects it in the image (harness/batch/jobscript.ts).
WORKDIR /opt/mlsys
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force
COPY tsconfig.json course.json ./
COPY bin ./bin
COPY harness ./harness
COPY projects ./projects
COPY reference ./reference
RUN chmod 755 bin/mlsys.js \
 && ln -s /opt/mlsys/bin/mlsys.js /usr/local/bin/mlsys

# tini as PID 1 reaps the processes each sandbox leaves to init (see SECURITY.md).
ENTRYPOINT ["tini", "--", "node", "/opt/mlsys/bin/mlsys.js"]
CMD ["doctor"]
