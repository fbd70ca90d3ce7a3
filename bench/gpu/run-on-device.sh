#!/usr/bin/env bash
# On the GPU machine, from the repository root, with .device/gpu-kit.tar.xz carried there (bench/gpu/pack.sh):
# generates SDXL-Turbo's real architectures on the spot and measures WebGPU fp16, WebGPU fp32, then the CPU,
# writing each table to $OUT as soon as it is measured, so that a run cut short still reports what it finished.
#   OUT=/somewhere bash bench/gpu/run-on-device.sh [extra gpu-real-scale flags]
set -uo pipefail
out="${OUT:?set OUT to the folder for the results}"
work="${WORK:-$(mktemp -d)}"
kit=$(mktemp -d)
xz -dc .device/gpu-kit.tar.xz | tar -C "$kit" -xf -
node="$kit/gpu-kit/node"
# The carried Vulkan loader only where the machine has none of its own.
if ! ldconfig -p | grep -q 'libvulkan\.so\.1' && [ -d "$kit/gpu-kit/lib" ]; then export LD_LIBRARY_PATH="$kit/gpu-kit/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
bench=("$node" "$kit/gpu-kit/bundle/gpu-real-scale.mjs")
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.csv" 2>&1 || true
nproc > "$out/cpus.txt"
"${bench[@]}" "$out/webgpu-fp16" "$work" --devices webgpu --precisions fp16 "$@" 2> "$out/webgpu-fp16.log"
"${bench[@]}" "$out/webgpu-fp32" "$work" --devices webgpu --precisions fp32 "$@" 2> "$out/webgpu-fp32.log"
"${bench[@]}" "$out/cpu-fp32" "$work" --devices cpu --precisions fp32 --steps 1 2> "$out/cpu-fp32.log"
cat "$out"/*/real-scale-gpu.md
