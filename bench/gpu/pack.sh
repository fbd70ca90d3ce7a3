#!/usr/bin/env bash
# Packs the GPU real-scale bench for a Linux x64 machine without network or Node: the bench bundled by esbuild,
# the native parts of onnxruntime-node and sharp, and this machine's node binary, in one .device/gpu-kit.tar.xz
# (about 45 MB; 64 MiB is the most a device run carries). Unpack and run it there with bench/gpu/run-on-device.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
kit="$stage/gpu-kit"
mkdir -p "$kit/bundle" "$kit/node_modules/@img" .device

npx esbuild bench/gpu/gpu-real-scale.ts bench/real-scale/real-scale-worker.ts \
  --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --outdir="$kit/bundle" --entry-names='[name]' --out-extension:.js=.mjs \
  --external:onnxruntime-node --external:sharp \
  --banner:js="import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);"

copy() { mkdir -p "$kit/node_modules/$(dirname "$1")" && cp -r "node_modules/$1" "$kit/node_modules/$1"; }
mkdir -p "$kit/node_modules/onnxruntime-node/bin/napi-v6/linux"
cp -r node_modules/onnxruntime-node/package.json node_modules/onnxruntime-node/dist "$kit/node_modules/onnxruntime-node/"
cp -r node_modules/onnxruntime-node/bin/napi-v6/linux/x64 "$kit/node_modules/onnxruntime-node/bin/napi-v6/linux/"
for module in onnxruntime-common sharp @img/colour @img/sharp-linux-x64 @img/sharp-libvips-linux-x64 detect-libc semver; do copy "$module"; done
cp "$(command -v node)" "$kit/node"
# onnxruntime's WebGPU runs on Vulkan through Dawn; the loader comes along for a machine that lacks it (Debian's libvulkan1).
vulkan=$(ldconfig -p | awk '/libvulkan\.so\.1 .*x86-64/ { print $NF; exit }')
if [ -n "$vulkan" ]; then mkdir -p "$kit/lib" && cp -L "$vulkan" "$kit/lib/libvulkan.so.1"; else echo "no libvulkan.so.1 here (apt-get install libvulkan1): the kit relies on the GPU machine's" >&2; fi

tar -C "$stage" -cf - gpu-kit | xz -T0 -6 > .device/gpu-kit.tar.xz
ls -l .device/gpu-kit.tar.xz
