import type { ScheduleView } from '../../core/protocol/host';

/**
 * The coordinator's queue in one line: jobs waiting for a host slot (by priority), deadlines
 * missed, hedged requests, and page requests journaled but not yet answered.
 */
export function ScheduleSummary({ schedule }: { schedule: ScheduleView }) {
  const { queued, byPriority, deadlineMisses, hedges, journal } = schedule;
  return (
    <dl class="schedule" aria-label="Pool queue">
      <dt>Waiting for a host</dt>
      <dd data-field="pool-queue">
        {queued}
        {queued > 0 &&
          ` (${byPriority.interactive} interactive, ${byPriority.background} background)`}
      </dd>
      <dt>Deadlines missed</dt>
      <dd data-field="deadline-misses">{deadlineMisses}</dd>
      <dt>Hedged requests</dt>
      <dd data-field="hedges">
        {hedges.launched} sent, {hedges.won} won
      </dd>
      {journal && (
        <>
          <dt>Journaled, unanswered</dt>
          <dd data-field="journal-open">{journal.open}</dd>
        </>
      )}
    </dl>
  );
}
