import type { PoolStatusMessage, PopupCommand } from '../../core/protocol/host';
import { formatAgo } from '../pool/format';

export interface ConsentPanelProps {
  consent: PoolStatusMessage['consent'];
  nowMs: number;
  send: (command: PopupCommand) => void;
}

/** Pages asking to use tabpool (allow / deny) and the origins already allowed (revoke). */
export function ConsentPanel(props: ConsentPanelProps) {
  return (
    <>
      <ConsentRequests {...props} />
      <AllowedSites {...props} />
    </>
  );
}

/** Pages waiting for the user's answer, oldest first; nothing when none waits. */
export function ConsentRequests({ consent, nowMs, send }: ConsentPanelProps) {
  return (
    <>
      {consent.pending.length > 0 && (
        <section class="consent" aria-labelledby="consent-title">
          <h2 id="consent-title">Pages asking to use tabpool</h2>
          <ul class="consent__list">
            {consent.pending.map((p) => (
              <li class="consent__item" data-origin={p.origin} key={p.origin}>
                <span class="consent__origin">{p.origin}</span>
                <span class="consent__when">asked {formatAgo(p.askedAtMs, nowMs)}</span>
                <span class="consent__actions">
                  <button
                    type="button"
                    data-action="allow"
                    aria-label={`Allow ${p.origin}`}
                    onClick={() => send({ type: 'consent-decide', origin: p.origin, allow: true })}
                  >
                    Allow
                  </button>
                  <button
                    type="button"
                    data-action="deny"
                    aria-label={`Deny ${p.origin}`}
                    onClick={() => send({ type: 'consent-decide', origin: p.origin, allow: false })}
                  >
                    Deny
                  </button>
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}

/** The origins allowed to use tabpool, each with a way to revoke it. */
export function AllowedSites({ consent, send }: Omit<ConsentPanelProps, 'nowMs'>) {
  return (
    <>
      <section class="grants" aria-labelledby="grants-title">
        <h2 id="grants-title">Allowed sites</h2>
        {consent.granted.length === 0 ? (
          <p class="muted">No site may use tabpool yet.</p>
        ) : (
          <ul class="grants__list">
            {consent.granted.map((g) => (
              <li class="grants__item" data-origin={g.origin} key={g.origin}>
                <span class="consent__origin">{g.origin}</span>
                <button
                  type="button"
                  data-action="revoke"
                  aria-label={`Revoke ${g.origin}`}
                  onClick={() => send({ type: 'grant-revoke', origin: g.origin })}
                >
                  Revoke
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
