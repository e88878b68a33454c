#!/bin/sh
# The real-GPU benchmark kit's one command (see the project README, "Real-GPU benchmark kit"):
#
#   ./bench-sdxl.sh WORKDIR [run.mjs options, e.g. --steps 1 --size 512 --images 3]
#
# Makes full-size SDXL replicas with random weights in WORKDIR unless they are there (fp16:
# optimum-fp32 replica converted by our CLI; q4: webnn-q4 replica), then runs the pipeline
# benchmark on each and prints ms per stage and per image. SCALE=0.05 makes small replicas
# (a quick check of the kit); LAYOUTS="fp16" picks layouts. The Vulkan loader picks the GPU's
# own ICD (NVIDIA's driver installs /usr/share/vulkan/icd.d/nvidia_icd.json); set
# VK_ICD_FILENAMES to choose another.
set -eu
KIT=$(cd "$(dirname "$0")" && pwd)
WORK=${1:?usage: ./bench-sdxl.sh WORKDIR [run.mjs options]}
shift
SCALE=${SCALE:-1}
LAYOUTS=${LAYOUTS:-"fp16 q4"}
export CLIP_BPE_PATH="${CLIP_BPE_PATH:-$KIT/clip-bpe-simple-vocab-16e6.txt.gz}"
mkdir -p "$WORK"
for layout in $LAYOUTS; do
  dir="$WORK/sdxl-$SCALE-$layout"
  if [ ! -f "$dir/model_index.json" ]; then
    case "$layout" in
      fp16)
        node "$KIT/make-test-model.mjs" --arch sdxl --scale "$SCALE" --layout optimum-fp32 --out "$WORK/sdxl-$SCALE-fp32"
        node "$KIT/cli.mjs" convert --model "$WORK/sdxl-$SCALE-fp32" --out "$dir"
        rm -rf "$WORK/sdxl-$SCALE-fp32"
        ;;
      fp32) node "$KIT/make-test-model.mjs" --arch sdxl --scale "$SCALE" --layout optimum-fp32 --out "$dir" ;;
      q4) node "$KIT/make-test-model.mjs" --arch sdxl --scale "$SCALE" --layout webnn-q4 --out "$dir" ;;
      q4f32) node "$KIT/make-test-model.mjs" --arch sdxl --scale "$SCALE" --layout webnn-q4f32 --out "$dir" ;;
      *) echo "unknown layout $layout (fp16, fp32, q4, q4f32)" >&2; exit 2 ;;
    esac
  fi
  echo "== $layout (scale $SCALE) =="
  node "$KIT/run.mjs" --model "$dir" --out "$WORK/result-$SCALE-$layout.json" "$@"
done
