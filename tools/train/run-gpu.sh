#!/bin/sh
# Trains both demo models on the GPU machine (the `run` tool), carrying tools/train/data/
# (made here first: node tools/train/export-mnist.mjs && node tools/train/fetch-kjv.mjs), and
# sends the model folders and the log back through $OUT.
set -e
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
python3 -c "import torch, transformers, tokenizers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'tokenizers', tokenizers.__version__)"
python3 tools/train/train_vit.py
python3 tools/train/train_gpt2.py
tar czf "$OUT/models.tar.gz" tools/demo/models/mnist-vit tools/demo/models/kjv-gpt2
