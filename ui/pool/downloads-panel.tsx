import type { DownloadView } from '../../core/protocol/host';
import { formatBytes } from '../options/format-bytes';

/** Whole percent, never 100 before the last byte (a bar at 100% that is still working misleads). */
export function percentOf(bytes: number, totalBytes: number): number {
  if (totalBytes <= 0) return 0;
  const p = Math.floor((bytes / totalBytes) * 100);
  return bytes < totalBytes ? Math.min(p, 99) : 100;
}

/** Models being downloaded into the shared store, each with a progress bar. */
export function DownloadsPanel({ downloads }: { downloads: DownloadView[] }) {
  if (downloads.length === 0) return null;
  return (
    <section class="downloads" aria-labelledby="downloads-title">
      <h2 id="downloads-title">Downloading</h2>
      <ul class="downloads__list">
        {downloads.map((d) => {
          const pct = percentOf(d.bytes, d.totalBytes);
          const barId = `download-${d.modelId.replace(/[^a-z0-9]/gi, '-')}`;
          return (
            <li class="download" key={d.modelId} data-model={d.modelId} data-percent={pct}>
              <label for={barId} class="download__name">
                {d.modelId}
              </label>
              <progress
                id={barId}
                max={d.totalBytes}
                value={d.bytes}
                aria-valuetext={`${pct}%, ${formatBytes(d.bytes)} of ${formatBytes(d.totalBytes)}`}
              />
              <span class="download__text" data-field="download-text">
                {pct}% · {formatBytes(d.bytes)} of {formatBytes(d.totalBytes)} · {d.file.path}
              </span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
