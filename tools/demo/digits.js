// Digits for the demo's classifier: the held-out split (a safetensors file of U8 images and
// labels) and a drawing pad whose strokes are turned into a 28×28 input the way MNIST's digits
// were made: the ink's bounding box scaled to fit 20×20 (area-averaged, aspect kept), then placed
// in 28×28 with its centre of mass in the middle. Pixels are ink 0..1, as in training (byte / 255).

export const SIDE = 28;

/** Reads `images` U8 [n, 28, 28] and `labels` U8 [n] from the held-out split's safetensors. */
export async function loadHeldOut(url) {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const headerBytes = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerBytes)));
  const tensor = (name) => {
    const [begin, end] = header[name].data_offsets;
    return bytes.subarray(8 + headerBytes + begin, 8 + headerBytes + end);
  };
  const images = tensor('images');
  const labels = tensor('labels');
  return {
    count: labels.length,
    labels,
    /** Digits [from, from + n) as the model's pixel_values: f32 [n, 1, 28, 28], byte / 255. */
    pixels(from, n) {
      return Float32Array.from(images.subarray(from * 784, (from + n) * 784), (b) => b / 255);
    },
  };
}

/** Paints a 28×28 ink image (0..1) onto a canvas, white ink on black, as the model sees it. */
export function paintDigit(canvas, pixels) {
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) {
    const v = Math.round(pixels[i] * 255);
    image.data.set([v, v, v, 255], i * 4);
  }
  const scratch = new OffscreenCanvas(SIDE, SIDE);
  scratch.getContext('2d').putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
}

/** Ink per pixel (0..1) of a canvas drawn in dark strokes on white. */
function inkOf(canvas) {
  const { width, height } = canvas;
  const rgba = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const ink = new Float32Array(width * height);
  for (let i = 0; i < ink.length; i++) ink[i] = 1 - rgba[i * 4] / 255;
  return ink;
}

/**
 * The drawing as the model's input, or null when nothing is drawn.
 * @returns {Float32Array | null} 784 values, row-major 28×28
 */
export function drawingToPixels(canvas) {
  const { width, height } = canvas;
  const ink = inkOf(canvas);
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] > 0.05) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return null;
  // The bounding box, scaled so its longer side is 20 pixels; each target pixel is the mean ink
  // of the source pixels whose centres fall inside it.
  const boxW = x1 - x0 + 1;
  const boxH = y1 - y0 + 1;
  const scale = 20 / Math.max(boxW, boxH);
  const w = Math.max(1, Math.round(boxW * scale));
  const h = Math.max(1, Math.round(boxH * scale));
  const small = new Float32Array(w * h);
  const counts = new Float32Array(w * h);
  for (let y = y0; y <= y1; y++) {
    const ty = Math.min(h - 1, Math.floor((y - y0 + 0.5) * scale));
    for (let x = x0; x <= x1; x++) {
      const tx = Math.min(w - 1, Math.floor((x - x0 + 0.5) * scale));
      small[ty * w + tx] += ink[y * width + x];
      counts[ty * w + tx] += 1;
    }
  }
  let mass = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < small.length; i++) {
    small[i] = counts[i] > 0 ? small[i] / counts[i] : 0;
    mass += small[i];
    cx += small[i] * ((i % w) + 0.5);
    cy += small[i] * (Math.floor(i / w) + 0.5);
  }
  // Shift so the centre of mass lands on the middle of the 28×28 frame.
  const dx = Math.round(SIDE / 2 - cx / mass);
  const dy = Math.round(SIDE / 2 - cy / mass);
  const out = new Float32Array(SIDE * SIDE);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const X = x + dx;
      const Y = y + dy;
      if (X >= 0 && X < SIDE && Y >= 0 && Y < SIDE) out[Y * SIDE + X] = small[y * w + x];
    }
  }
  return out;
}

/**
 * Lets a pointer (mouse, pen, touch) draw on `canvas`; `onStroke` runs after each stroke.
 * @returns {() => void} clears the pad
 */
export function drawingPad(canvas, onStroke) {
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const clear = () => {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.lineWidth = canvas.width / 13; // about MNIST's stroke once the digit is 20 pixels tall
  ctx.strokeStyle = '#000';
  let last = null;
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [
      ((e.clientX - r.left) * canvas.width) / r.width,
      ((e.clientY - r.top) * canvas.height) / r.height,
    ];
  };
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = at(e);
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...last);
    ctx.stroke();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!last) return;
    const next = at(e);
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...next);
    ctx.stroke();
    last = next;
  });
  const end = () => {
    if (!last) return;
    last = null;
    onStroke();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  return clear;
}
