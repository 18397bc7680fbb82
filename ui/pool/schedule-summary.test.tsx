import { renderToString } from 'preact-render-to-string';
import { describe, expect, it } from 'vitest';
import type { ScheduleView } from '../../core/protocol/host';
import { ScheduleSummary } from './schedule-summary';

const view = (over: Partial<ScheduleView> = {}): ScheduleView => ({
  queued: 0,
  byPriority: { interactive: 0, background: 0 },
  byQueue: {},
  origins: 0,
  hedges: { launched: 0, won: 0 },
  deadlineMisses: 0,
  journal: null,
  ...over,
});

describe('ScheduleSummary', () => {
  it('shows the queue by priority, missed deadlines, hedges and the journal', () => {
    const html = renderToString(
      <ScheduleSummary
        schedule={view({
          queued: 5,
          byPriority: { interactive: 3, background: 2 },
          hedges: { launched: 4, won: 1 },
          deadlineMisses: 8,
          journal: { open: 2, leftOver: 0, resumed: 0, abandoned: 0 },
        })}
      />,
    );
    expect(html).toMatch(/data-field="pool-queue">5 \(3 interactive, 2 background\)</);
    expect(html).toMatch(/data-field="deadline-misses">8</);
    expect(html).toMatch(/data-field="hedges">4 sent, 1 won</);
    expect(html).toMatch(/data-field="journal-open">2</);
  });

  it('keeps an empty queue short and leaves out a journal it does not have', () => {
    const html = renderToString(<ScheduleSummary schedule={view()} />);
    expect(html).toMatch(/data-field="pool-queue">0</);
    expect(html).not.toContain('journal-open');
  });
});
