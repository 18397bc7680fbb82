// The demo page's logic: everything goes through the tabpool page SDK (tabpool-client.js).
// On load it runs the same checks `npm run demo` prints without a display — held-out digits
// against their labels and PyTorch's predictions, greedy text against PyTorch's, similarities
// against PyTorch's (eval.json beside each model) — then leaves the controls to the person.
import { drawingPad, drawingToPixels, loadHeldOut, paintDigit } from './digits.js';
import { DIGITS, TEXT } from './models.js';
import { connect } from './tabpool-client.js';

const SAMPLE = 300; // held-out digits classified on load (the e2e test does all 1,500)
const SHOWN = 24; // held-out digits offered to pick
const $ = (id) => document.getElementById(id);
const log = (line) => {
  $('out').textContent += `${line}\n`;
};
const status = (text) => {
  $('status').textContent = text;
};
const mb = (bytes) => (bytes / 1e6).toFixed(2);
const fetchJson = async (url) => (await fetch(url)).json();

async function loadModel(client, model, key) {
  const bar = $(`${key}-progress`);
  const text = $(`${key}-progress-text`);
  const started = performance.now();
  const { model: row } = await client.models.load(
    { repo: model.repo, files: model.files },
    {
      onProgress: (p) => {
        bar.value = p.bytes / p.totalBytes;
        text.textContent = `${mb(p.bytes)} / ${mb(p.totalBytes)} MB — ${p.file.path}`;
      },
    },
  );
  bar.value = 1;
  text.textContent = `${mb(row.bytes)} MB in the extension's store`;
  log(`${model.repo}: ${mb(row.bytes)} MB stored (${Math.round(performance.now() - started)} ms)`);
}

/** Top-3 labels with scores for one 28×28 image. */
async function classifyOne(client, pixels) {
  const [top] = await client.classify(
    DIGITS.repo,
    { data: pixels, shape: [1, 1, 28, 28] },
    { topK: 3 },
  );
  return top;
}

const describe = (top) =>
  `${top[0].label} (${(top[0].score * 100).toFixed(1)}%) — then ${top
    .slice(1)
    .map((t) => `${t.label} ${(t.score * 100).toFixed(1)}%`)
    .join(', ')}`;

/** Classifies held-out digits [0, count) in batches; returns the predicted labels. */
async function classifyHeldOut(client, heldOut, count) {
  const predictions = [];
  for (let i = 0; i < count; i += 100) {
    const n = Math.min(100, count - i);
    const results = await client.classify(
      DIGITS.repo,
      { data: heldOut.pixels(i, n), shape: [n, 1, 28, 28] },
      { topK: 1, deadlineMs: 120_000 },
    );
    for (const [best] of results) predictions.push(Number(best.label));
    $('accuracy').textContent = `Classified ${predictions.length} of ${count} held-out digits…`;
  }
  return predictions;
}

async function checkDigits(client, heldOut, pytorch) {
  status('Classifying held-out digits (the first use loads the model into a host)…');
  const started = performance.now();
  const got = await classifyHeldOut(client, heldOut, SAMPLE);
  const ms = performance.now() - started;
  const right = got.filter((p, i) => p === heldOut.labels[i]).length;
  const same = got.filter((p, i) => p === pytorch.predictions[i]).length;
  const ptRight = pytorch.predictions
    .slice(0, SAMPLE)
    .filter((p, i) => p === heldOut.labels[i]).length;
  log(`\nDigits — first ${SHOWN / 3} held-out digits: label → tabpool (PyTorch)`);
  log(
    got
      .slice(0, SHOWN / 3)
      .map((p, i) => `${heldOut.labels[i]}→${p} (${pytorch.predictions[i]})`)
      .join('  '),
  );
  const line =
    `${SAMPLE} held-out digits in ${Math.round(ms)} ms: tabpool ${((right / SAMPLE) * 100).toFixed(2)}% ` +
    `right, PyTorch ${((ptRight / SAMPLE) * 100).toFixed(2)}% on the same digits ` +
    `(all 1,500: PyTorch ${(pytorch.test_accuracy * 100).toFixed(2)}%); same prediction as PyTorch for ${same} of ${SAMPLE}`;
  log(line);
  $('accuracy').textContent = line;
  return same === SAMPLE;
}

async function generateInto(client, prompt, options, signal) {
  const out = $('generated');
  out.textContent = prompt;
  const started = performance.now();
  const stream = client.generate(TEXT.repo, prompt, { ...options, signal });
  let pieces = 0;
  let text = '';
  for (;;) {
    const next = await stream.next();
    if (next.done) {
      const seconds = (performance.now() - started) / 1000;
      const r = next.value;
      const tail = `${r.tokens} tokens in ${seconds.toFixed(1)} s (${(r.tokens / seconds).toFixed(1)} tokens/s), ${r.finishReason}`;
      return { text, pieces, tail };
    }
    pieces++;
    text += next.value;
    out.textContent += next.value;
  }
}

async function checkText(client, pytorch) {
  status('Generating (the first use loads the model into a host)…');
  const { prompt, text: want } = pytorch.greedy[0];
  const { text, pieces, tail } = await generateInto(client, prompt, {
    maxTokens: 40,
    temperature: 0,
  });
  $('generated').textContent += `\n\n[greedy, checked against PyTorch: ${tail}]`;
  log(`\nText — greedy, 40 tokens, streamed in ${pieces} pieces (${tail}):\n${prompt}${text}`);
  log(text === want ? 'the same text as PyTorch greedy' : `PyTorch greedy was:\n${prompt}${want}`);
  return text === want;
}

function similarityTable(sentences, vectors) {
  const cos = vectors.map((a) => vectors.map((b) => a.reduce((s, x, k) => s + x * b[k], 0)));
  const table = document.createElement('table');
  const caption = table.createCaption();
  caption.textContent = 'Cosine similarity of the sentences’ mean-pooled hidden states';
  const head = table.createTHead().insertRow();
  head.appendChild(document.createElement('td'));
  sentences.forEach((_, j) => {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = `#${j + 1}`;
    head.appendChild(th);
  });
  const body = table.createTBody();
  cos.forEach((row, i) => {
    const tr = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = `#${i + 1} ${sentences[i]}`;
    tr.appendChild(th);
    for (const v of row) {
      const td = tr.insertCell();
      td.textContent = v.toFixed(2);
      td.style.background = `hsl(210 80% ${Math.round(97 - Math.max(0, v) * 40)}%)`;
    }
  });
  $('similarity').replaceChildren(table);
  return cos;
}

async function checkSimilarity(client, pytorch) {
  status('Embedding sentences…');
  const { sentences, cosine } = pytorch.similarity;
  const vectors = await client.embed(TEXT.repo, sentences);
  const cos = similarityTable(sentences, vectors);
  let worst = 0;
  cos.forEach((row, i) => {
    row.forEach((v, j) => {
      worst = Math.max(worst, Math.abs(v - cosine[i][j]));
    });
  });
  log('\nSimilarity — cosine of mean-pooled final hidden states (unit length):');
  for (const [i, row] of cos.entries()) {
    log(`${row.map((v) => v.toFixed(2).padStart(5)).join(' ')}  #${i + 1} ${sentences[i]}`);
  }
  log(`largest difference from PyTorch's table: ${worst.toExponential(1)}`);
  return worst < 1e-4;
}

function wireDigits(client, heldOut) {
  const seen = $('seen');
  const result = $('digit-result');
  let latest = 0;
  const show = async (pixels, label) => {
    const mine = ++latest;
    paintDigit(seen, pixels);
    result.textContent = 'Classifying…';
    const top = await classifyOne(client, pixels);
    if (mine !== latest) return;
    const verdict =
      label === undefined
        ? ''
        : ` — labelled ${label}${Number(top[0].label) === label ? ' ✓' : ' ✗'}`;
    result.textContent = `Model says ${describe(top)}${verdict}`;
  };
  const fail = (e) => {
    result.textContent = `error ${e.code}: ${e.message}`;
  };
  const pad = $('pad');
  const fromPad = () => {
    const pixels = drawingToPixels(pad);
    if (!pixels) {
      result.textContent = 'Draw a digit first.';
      return;
    }
    show(pixels).catch(fail);
  };
  const clear = drawingPad(pad, fromPad);
  $('classify-drawing').addEventListener('click', fromPad);
  $('clear').addEventListener('click', () => {
    clear();
    result.textContent = '—';
  });
  const box = $('held-out');
  for (let i = 0; i < SHOWN; i++) {
    const button = document.createElement('button');
    button.type = 'button';
    button.setAttribute('aria-pressed', 'false');
    button.setAttribute('aria-label', `Held-out digit ${i + 1}, labelled ${heldOut.labels[i]}`);
    const thumb = document.createElement('canvas');
    thumb.width = 28;
    thumb.height = 28;
    paintDigit(thumb, heldOut.pixels(i, 1));
    button.appendChild(thumb);
    button.addEventListener('click', () => {
      for (const b of box.children) b.setAttribute('aria-pressed', String(b === button));
      show(heldOut.pixels(i, 1), heldOut.labels[i]).catch(fail);
    });
    box.appendChild(button);
  }
}

function wireText(client) {
  let controller = null;
  const stop = $('stop');
  stop.addEventListener('click', () => controller?.abort());
  $('generate-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    controller?.abort();
    controller = new AbortController();
    const temperature = Number($('temperature').value);
    const options = {
      maxTokens: Number($('max-tokens').value),
      temperature,
      topK: temperature > 0 ? 40 : 0,
      seed: Number($('seed').value),
    };
    stop.disabled = false;
    try {
      const { tail } = await generateInto(client, $('prompt').value, options, controller.signal);
      $('generated').textContent += `\n\n[${tail}]`;
    } catch (err) {
      $('generated').textContent +=
        `\n\n[${err.code === 'ABORTED' ? 'stopped' : `error ${err.code}: ${err.message}`}]`;
    } finally {
      stop.disabled = true;
    }
  });
  $('similarity-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const sentences = $('sentences')
      .value.split('\n')
      .map((s) => s.trim())
      .filter(Boolean)
      .slice(0, 16);
    if (sentences.length === 0) return;
    try {
      similarityTable(sentences, await client.embed(TEXT.repo, sentences));
    } catch (err) {
      $('similarity').textContent = `error ${err.code}: ${err.message}`;
    }
  });
}

async function start() {
  const client = await connect({ timeoutMs: 5000 });
  const hello = await client.hello();
  log(`found tabpool ${hello.extensionVersion}, protocol ${hello.protocol}`);
  status('Asking for access: allow this page in the tabpool popup (its toolbar button).');
  const { state } = await client.call('access', { timeoutMs: 120_000 }, { deadlineMs: 130_000 });
  log(`access: ${state}`);
  if (state !== 'granted') throw { code: 'NOT_GRANTED', message: `access ${state}` };

  status('Downloading the models into the extension’s store…');
  const [digitsEval, textEval, heldOut] = await Promise.all([
    fetchJson(`models/${DIGITS.dir}/eval.json`),
    fetchJson(`models/${TEXT.dir}/eval.json`),
    loadHeldOut('models/mnist-test.safetensors'),
  ]);
  await Promise.all([loadModel(client, DIGITS, 'digits'), loadModel(client, TEXT, 'text')]);
  $('sentences').value = textEval.similarity.sentences.join('\n');
  wireDigits(client, heldOut);
  wireText(client);

  const digits = await checkDigits(client, heldOut, digitsEval);
  const text = await checkText(client, textEval);
  const similarity = await checkSimilarity(client, textEval);
  const { hosts } = await client.status();
  log(`\npool: ${hosts.map((h) => `${h.kind}:${h.state} served ${h.served}`).join(', ')}`);
  const correct = digits && text && similarity;
  status(
    correct
      ? 'Ready: everything matched PyTorch. Try the controls below.'
      : 'Something did not match PyTorch: see the log.',
  );
  return { correct, digits, text, similarity };
}

window.demoResult = start().catch((e) => {
  log(`error ${e.code}: ${e.message}`);
  status(`error ${e.code}: ${e.message}`);
  return { correct: false, error: { code: e.code, message: e.message } };
});
