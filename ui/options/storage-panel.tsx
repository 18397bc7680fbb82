import type { StorageUsage } from '../../storage';
import { percentOf } from '../pool/downloads-panel';
import { formatBytes } from './format-bytes';

/** Storage against the browser's quota, and what the model store holds and saves. */
export function StoragePanel({ usage }: { usage: StorageUsage | null }) {
  if (!usage) return null;
  const est = usage.estimate;
  return (
    <section aria-labelledby="storage-title">
      <h2 id="storage-title">Storage</h2>
      {est ? (
        <div
          class="meter"
          data-field="quota"
          data-percent={percentOf(est.usageBytes, est.quotaBytes)}
        >
          <label for="quota-bar">
            {formatBytes(est.usageBytes)} of {formatBytes(est.quotaBytes)} quota used (
            {percentOf(est.usageBytes, est.quotaBytes)}%)
          </label>
          <progress id="quota-bar" max={est.quotaBytes} value={est.usageBytes} />
        </div>
      ) : (
        <p class="muted">The browser does not say how much room there is.</p>
      )}
      <p class="muted" data-field="storage">
        {formatBytes(usage.storedBytes)} stored
        {usage.sharedSavedBytes > 0 && `, ${formatBytes(usage.sharedSavedBytes)} saved by sharing`}
        {Number.isFinite(usage.availableBytes) &&
          ` · ${formatBytes(usage.availableBytes)} available for models`}
      </p>
    </section>
  );
}
