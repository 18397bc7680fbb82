import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestHubServer, type TestHubServer } from './test-hub-server';

// The downloader tests rely on this server's Range and fault behaviour; pin it down here.
let hub: TestHubServer;
const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
const url = () => `${hub.baseUrl}/org/m/resolve/main/w.bin`;

beforeEach(async () => {
  hub = await startTestHubServer();
  hub.addFile('org/m', 'main', 'w.bin', bytes);
});
afterEach(() => hub.close());

describe('test hub server', () => {
  it('serves ranges, honours If-Range, and answers CORS preflights', async () => {
    const head = await fetch(url(), { method: 'HEAD' });
    const etag = head.headers.get('etag') ?? '';
    expect(head.headers.get('x-linked-size')).toBe('100');
    const part = await fetch(url(), { headers: { range: 'bytes=90-', 'if-range': etag } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 90-99/100');
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(bytes.subarray(90));
    const stale = await fetch(url(), { headers: { range: 'bytes=90-', 'if-range': '"old"' } });
    expect(stale.status).toBe(200);
    expect((await stale.arrayBuffer()).byteLength).toBe(100);
    expect((await fetch(url(), { headers: { range: 'bytes=100-' } })).status).toBe(416);
    const preflight = await fetch(url(), { method: 'OPTIONS' });
    expect(preflight.headers.get('access-control-allow-headers')).toContain('if-range');
    expect((await fetch(`${hub.baseUrl}/org/m/resolve/main/nope`)).status).toBe(404);
  });

  it('drops a connection mid-body and applies faults in order', async () => {
    hub.fail(
      'org/m',
      'main',
      'w.bin',
      { kind: 'drop', afterBytes: 40 },
      { kind: 'status', status: 503 },
    );
    const dropped = await fetch(url());
    await expect(dropped.arrayBuffer()).rejects.toThrow();
    expect((await fetch(url())).status).toBe(503);
    expect((await fetch(url())).status).toBe(200);
    expect(hub.requests.map((r) => [r.status, r.bodyBytes])).toEqual([
      [200, 40],
      [503, 0],
      [200, 100],
    ]);
  });
});
