// The demo's trained models (tools/train/), by repo, with the files a page asks tabpool to load.
// Shared by the page and by tools/demo-models.mjs, which serves them Hugging Face-style.
export const DIGITS = {
  repo: 'tabpool-demo/mnist-vit',
  dir: 'mnist-vit',
  files: ['config.json', 'model.safetensors', 'preprocessor_config.json'],
};
export const TEXT = {
  repo: 'tabpool-demo/kjv-gpt2',
  dir: 'kjv-gpt2',
  files: [
    'config.json',
    'model.safetensors',
    'tokenizer.json',
    'tokenizer_config.json',
    'generation_config.json',
  ],
};
