import { renderToString } from 'preact-render-to-string';
import { describe, expect, it } from 'vitest';
import { DownloadsPanel, percentOf } from './downloads-panel';

describe('percentOf', () => {
  it.each([
    [0, 100, 0],
    [37, 100, 37],
    [999, 1000, 99], // not 100 until the last byte
    [1000, 1000, 100],
    [5, 0, 0],
  ])('%s of %s is %s%%', (bytes, total, pct) => {
    expect(percentOf(bytes, total)).toBe(pct);
  });
});

describe('DownloadsPanel', () => {
  it('draws a labelled progress bar per download', () => {
    const html = renderToString(
      <DownloadsPanel
        downloads={[
          {
            modelId: 'org/m@main',
            hostId: 'h',
            bytes: 512 * 1024,
            totalBytes: 2 * 1024 * 1024,
            file: { path: 'model.safetensors', bytes: 500_000, totalBytes: 2_000_000 },
            updatedAtMs: 0,
          },
        ]}
      />,
    );
    expect(html).toMatch(/data-model="org\/m@main" data-percent="25"/);
    expect(html).toMatch(/<label for="download-org-m-main"[^>]*>org\/m@main</);
    expect(html).toMatch(/<progress id="download-org-m-main" max="2097152" value="524288"/);
    expect(html).toContain('25% · 512 KB of 2.0 MB · model.safetensors');
  });

  it('renders nothing without downloads', () => {
    expect(renderToString(<DownloadsPanel downloads={[]} />)).toBe('');
  });
});
