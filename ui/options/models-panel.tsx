import type { StorageUsage } from '../../storage';
import { formatBytes } from './format-bytes';

export interface ModelsPanelProps {
  usage: StorageUsage | null;
  remove: (id: string) => void;
}

/** The shared model store: what is there, what it costs on disk, and a way to free it. */
export function ModelsPanel({ usage, remove }: ModelsPanelProps) {
  if (!usage) return <p class="muted">Reading the model store…</p>;
  return (
    <section aria-labelledby="models-title">
      <h2 id="models-title">Models</h2>
      <p class="muted" data-field="storage">
        {formatBytes(usage.storedBytes)} stored
        {usage.sharedSavedBytes > 0 && `, ${formatBytes(usage.sharedSavedBytes)} saved by sharing`}
        {usage.estimate &&
          ` · origin uses ${formatBytes(usage.estimate.usageBytes)} of ${formatBytes(usage.estimate.quotaBytes)}`}
      </p>
      {usage.models.length === 0 ? (
        <p class="muted">No models yet: pages load them with models.load.</p>
      ) : (
        <ul class="grants__list">
          {usage.models.map((m) => (
            <li class="grants__item model" data-model={m.id} data-state={m.state} key={m.id}>
              <span class="consent__origin">{m.id}</span>
              <span class="consent__when">
                {m.state} · {formatBytes(m.totalBytes)} ({formatBytes(m.exclusiveBytes)} its own)
                {m.pinned ? ' · pinned' : ''}
              </span>
              <button
                type="button"
                data-action="delete"
                aria-label={`Delete ${m.id}`}
                onClick={() => remove(m.id)}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
