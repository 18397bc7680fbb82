import { renderToString } from 'preact-render-to-string';
import { describe, expect, it } from 'vitest';
import { Sparkline } from './sparkline';

describe('Sparkline', () => {
  it('draws the values scaled to the height, breaking at gaps', () => {
    const html = renderToString(
      <Sparkline values={[0, 2, null, 4]} label="x" width={30} height={10} />,
    );
    // max 4 → y = 9 - v/4·8; x steps of 10
    expect(html).toContain('d="M0.0 9.0L10.0 5.0M30.0 1.0"');
    expect(html).toContain('aria-label="x"');
  });

  it('draws nothing for a minute without data', () => {
    expect(renderToString(<Sparkline values={[null, null]} label="empty" />)).toContain(
      '<path d fill',
    );
  });
});
