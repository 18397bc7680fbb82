// The smallest page-side client of the tabpool protocol: post a request, match the reply by id.
// The end-to-end tests use it where they need the raw protocol; pages use the typed SDK (core/client).
let counter = 0;

/** Sends one request and resolves with its result, or rejects with `{ code, message }`. */
export function call(op, params, { timeoutMs = 30_000, transfer = [] } = {}) {
  const id = `req-${Date.now().toString(36)}-${++counter}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      window.removeEventListener('message', onMessage);
      reject({ code: 'PAGE_TIMEOUT', message: `no reply to ${op} in ${timeoutMs} ms` });
    }, timeoutMs);
    function onMessage(event) {
      const m = event.data;
      if (event.source !== window || !m || m.tabpool === undefined || m.id !== id || !('ok' in m))
        return;
      clearTimeout(timer);
      window.removeEventListener('message', onMessage);
      if (m.ok) resolve(m.result);
      else reject(m.error);
    }
    window.addEventListener('message', onMessage);
    const message = { tabpool: 1, id, op };
    if (params !== undefined) message.params = params;
    window.postMessage(message, window.location.origin, transfer);
  });
}

/** Posts any message as-is and resolves with the first tabpool reply carrying `id` (tests). */
export function sendRaw(message, id, { timeoutMs = 5_000 } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no reply')), timeoutMs);
    window.addEventListener('message', function onMessage(event) {
      const m = event.data;
      if (event.source !== window || !m || !('ok' in m) || m.id !== id) return;
      clearTimeout(timer);
      window.removeEventListener('message', onMessage);
      resolve(m);
    });
    window.postMessage(message, '*');
  });
}

/** Resolves when tabpool has been announced (or answers hello), within `timeoutMs`. */
export async function discover({ timeoutMs = 5_000 } = {}) {
  return call('hello', undefined, { timeoutMs });
}

/** f32 matmul helper: a [m,k] · b [k,n] as Float32Arrays; resolves with { c, host }. */
export async function matmul(a, b, m, k, n, options) {
  const result = await call(
    'matmul',
    {
      a: { dtype: 'float32', shape: [m, k], data: a.buffer },
      b: { dtype: 'float32', shape: [k, n], data: b.buffer },
    },
    options,
  );
  return {
    c: new Float32Array(result.c.data),
    shape: result.c.shape,
    host: result.host,
    raw: result,
  };
}
