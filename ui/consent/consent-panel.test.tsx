import { renderToString } from 'preact-render-to-string';
import { describe, expect, it } from 'vitest';
import { ConsentPanel } from './consent-panel';

describe('ConsentPanel', () => {
  it('lists pending pages with allow and deny, and allowed sites with revoke', () => {
    const html = renderToString(
      <ConsentPanel
        consent={{
          pending: [{ origin: 'https://ask.example', askedAtMs: 0 }],
          granted: [{ origin: 'https://ok.example', grantedAt: 0 }],
        }}
        nowMs={5_000}
        send={() => {}}
      />,
    );
    expect(html).toContain('Pages asking to use tabpool');
    expect(html).toMatch(
      /data-origin="https:\/\/ask.example"[\s\S]*aria-label="Allow https:\/\/ask.example"/,
    );
    expect(html).toContain('aria-label="Deny https://ask.example"');
    expect(html).toContain('asked 5 s ago');
    expect(html).toContain('aria-label="Revoke https://ok.example"');
  });

  it('says so when no site is allowed and nothing is pending', () => {
    const html = renderToString(
      <ConsentPanel consent={{ pending: [], granted: [] }} nowMs={0} send={() => {}} />,
    );
    expect(html).not.toContain('Pages asking');
    expect(html).toContain('No site may use tabpool yet.');
  });
});
