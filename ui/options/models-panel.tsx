import type { DownloadView } from '../../core/protocol/host';
import type { StorageUsage } from '../../storage';
import { percentOf } from '../pool/downloads-panel';
import { formatBytes } from './format-bytes';

export interface ModelsPanelProps {
  usage: StorageUsage | null;
  /** Downloads in flight (the storage downloader's progress, via the coordinator). */
  downloads: DownloadView[];
  /** Where each model is in memory: model id → host labels. */
  residentOn: Record<string, string[]>;
  remove: (id: string) => void;
  pin: (id: string, pinned: boolean) => void;
}

/**
 * The shared model store: each model's size on disk, where it is in memory, whether it is pinned
 * (never evicted), its download progress, and a way to free it.
 */
export function ModelsPanel({ usage, downloads, residentOn, remove, pin }: ModelsPanelProps) {
  if (!usage) return <p class="muted">Reading the model store…</p>;
  const stored = new Set(usage.models.map((m) => m.id));
  // A download that has not written its row yet is still worth a bar.
  const unlisted = downloads.filter((d) => !stored.has(d.modelId));
  return (
    <section aria-labelledby="models-title">
      <h2 id="models-title">Models</h2>
      {usage.models.length === 0 && unlisted.length === 0 ? (
        <p class="muted">No models yet: pages load them with models.load.</p>
      ) : (
        <ul class="models">
          {usage.models.map((m) => {
            const d = downloads.find((x) => x.modelId === m.id);
            const where = residentOn[m.id] ?? [];
            return (
              <li class="model" data-model={m.id} data-state={m.state} key={m.id}>
                <div class="model__head">
                  <span class="model__name">{m.id}</span>
                  <span class={`badge badge--${m.state}`}>{m.state}</span>
                </div>
                <span class="model__facts" data-field="model-size">
                  {formatBytes(m.totalBytes)} on disk ({formatBytes(m.exclusiveBytes)} its own)
                </span>
                <span class="model__facts" data-field="model-resident">
                  {where.length === 0 ? 'Not in memory' : `In memory on ${where.join(', ')}`}
                </span>
                {d && <DownloadBar download={d} />}
                <span class="model__actions">
                  <button
                    type="button"
                    data-action="pin"
                    aria-pressed={m.pinned}
                    aria-label={`Pin ${m.id} (never evicted)`}
                    onClick={() => pin(m.id, !m.pinned)}
                  >
                    {m.pinned ? 'Pinned' : 'Pin'}
                  </button>
                  <button
                    type="button"
                    data-action="delete"
                    aria-label={`Delete ${m.id}`}
                    onClick={() => remove(m.id)}
                  >
                    Delete
                  </button>
                </span>
              </li>
            );
          })}
          {unlisted.map((d) => (
            <li class="model" data-model={d.modelId} data-state="downloading" key={d.modelId}>
              <div class="model__head">
                <span class="model__name">{d.modelId}</span>
                <span class="badge badge--downloading">downloading</span>
              </div>
              <DownloadBar download={d} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function DownloadBar({ download: d }: { download: DownloadView }) {
  const pct = percentOf(d.bytes, d.totalBytes);
  const id = `bar-${d.modelId.replace(/[^a-z0-9]/gi, '-')}`;
  return (
    <div class="meter" data-field="model-progress" data-percent={pct}>
      <label for={id}>
        Downloading {d.file.path}: {pct}% ({formatBytes(d.bytes)} of {formatBytes(d.totalBytes)})
      </label>
      <progress id={id} max={d.totalBytes} value={d.bytes} />
    </div>
  );
}
