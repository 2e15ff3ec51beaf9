import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api';
import { Empty, Loading, ProblemBox, Scroll, when } from '../components';

interface Subscription {
  id: string;
  channel: string;
  address?: string;
  url?: string;
  mode: string;
  status: string;
  failingSince: string | null;
  disabledReason: string | null;
}

interface Delivery {
  id: string;
  subscriptionId: string | null;
  target: string;
  type: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
}

/** Subscriptions and deliveries: failed deliveries and disabled endpoints first, with retry and recover. */
export function AlertsPage() {
  const [subscriptions, setSubscriptions] = useState<Subscription[] | null>(null);
  const [failed, setFailed] = useState<Delivery[]>([]);
  const [since, setSince] = useState('');
  const [draft, setDraft] = useState({ channel: 'webhook', target: '' });
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(() => {
    Promise.all([api<Subscription[]>('/subscriptions'), api<{ items: Delivery[] }>('/deliveries?status=failed&limit=100')])
      .then(([subs, deliveries]) => {
        setSubscriptions(subs);
        setFailed(deliveries.items);
      })
      .catch((caught) => {
        setError(caught);
        setSubscriptions([]);
      });
  }, []);
  useEffect(load, [load]);

  const act = async <T,>(work: () => Promise<T>, done: string | ((result: T) => string)) => {
    setError(null);
    try {
      const result = await work();
      setNotice(typeof done === 'string' ? done : done(result));
      load();
    } catch (caught) {
      setError(caught);
    }
  };

  const subscribe = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const created = await api<{ secret?: string; status: string }>('/subscriptions', {
        body: draft.channel === 'email' ? { channel: 'email', address: draft.target } : { channel: 'webhook', url: draft.target },
      });
      setSecret(created.secret ?? null);
      setNotice(created.status === 'pending' ? 'Check the inbox of that address to confirm.' : 'Subscribed.');
      load();
    } catch (caught) {
      setError(caught);
    }
  };

  const disabled = (subscriptions ?? []).filter((s) => s.status === 'disabled');
  return (
    <section>
      <h1>Alerts</h1>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {secret && (
        <p className="notice" role="status">
          Webhook secret (shown once): <code className="hash">{secret}</code>
        </p>
      )}
      <ProblemBox error={error} />
      <h2>Failed deliveries</h2>
      {failed.length === 0 ? (
        <Empty>No failed deliveries.</Empty>
      ) : (
        <Scroll label="Failed deliveries">
          <table aria-label="Failed deliveries">
            <thead>
              <tr>
                <th scope="col">Alert</th>
                <th scope="col">To</th>
                <th scope="col">Status</th>
                <th scope="col">Last error</th>
                <th scope="col">Next attempt</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {failed.map((d) => (
                <tr key={d.id}>
                  <td>
                    {d.type}
                    <div className="muted">{when(d.createdAt)}</div>
                  </td>
                  <td className="break">{d.target}</td>
                  <td>
                    {d.status} ({d.attempts} attempts)
                  </td>
                  <td className="break">
                    {d.lastStatusCode ?? ''} {d.lastError ?? ''}
                  </td>
                  <td>{when(d.nextAttemptAt)}</td>
                  <td>
                    <button type="button" aria-label={`Retry: ${d.target}`} onClick={() => void act(() => api(`/deliveries/${d.id}/retry`, { method: 'POST' }), 'Retrying now')}>
                      Retry
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
      <h2>Disabled endpoints</h2>
      {disabled.length === 0 ? (
        <Empty>None.</Empty>
      ) : (
        <ul aria-label="Disabled endpoints">
          {disabled.map((s) => (
            <li key={s.id}>
              <span className="break">
                {s.channel}: {s.address ?? s.url}
              </span>{' '}
              <span className="muted">— {s.disabledReason ?? 'disabled'}</span>{' '}
              <button type="button" aria-label={`Resume: ${s.address ?? s.url}`} onClick={() => void act(() => api(`/subscriptions/${s.id}/resume`, { method: 'POST' }), 'Resumed')}>
                Resume
              </button>
            </li>
          ))}
        </ul>
      )}
      <h2>Subscriptions</h2>
      <label>
        Recover failed deliveries since
        <input type="date" value={since} onChange={(e) => setSince(e.target.value)} />
      </label>
      {subscriptions === null ? (
        <Loading what="subscriptions" />
      ) : subscriptions.length === 0 ? (
        <Empty>No subscriptions yet.</Empty>
      ) : (
        <Scroll label="Subscriptions">
          <table aria-label="Subscriptions">
            <thead>
              <tr>
                <th scope="col">To</th>
                <th scope="col">Mode</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {subscriptions.map((s) => (
                <tr key={s.id}>
                  <td className="break">
                    {s.channel}: {s.address ?? s.url}
                  </td>
                  <td>{s.mode}</td>
                  <td>
                    {s.status}
                    {s.failingSince && <div className="muted">failing since {when(s.failingSince)}</div>}
                    {s.disabledReason && <div className="muted">{s.disabledReason}</div>}
                  </td>
                  <td className="actions">
                    {s.status === 'active' && (
                      <button type="button" aria-label={`Pause: ${s.address ?? s.url}`} onClick={() => void act(() => api(`/subscriptions/${s.id}/pause`, { method: 'POST' }), 'Paused')}>
                        Pause
                      </button>
                    )}
                    {(s.status === 'paused' || s.status === 'disabled') && (
                      <button type="button" aria-label={`Resume: ${s.address ?? s.url}`} onClick={() => void act(() => api(`/subscriptions/${s.id}/resume`, { method: 'POST' }), 'Resumed')}>
                        Resume
                      </button>
                    )}
                    <button
                      type="button"
                      aria-label={`Recover since: ${s.address ?? s.url}`}
                      disabled={!since}
                      onClick={() => void act(() => api<{ requeued: number }>(`/subscriptions/${s.id}/recover`, { body: { since } }), (r) => `Re-sending ${r.requeued} failed deliveries since ${since}`)}
                    >
                      Recover since
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
      <form onSubmit={subscribe} aria-label="Subscribe">
        <h2>Subscribe</h2>
        <label>
          Channel
          <select value={draft.channel} onChange={(e) => setDraft({ ...draft, channel: e.target.value })}>
            <option value="webhook">webhook</option>
            <option value="email">email</option>
          </select>
        </label>
        <label>
          {draft.channel === 'email' ? 'Address' : 'https URL'}
          <input value={draft.target} onChange={(e) => setDraft({ ...draft, target: e.target.value })} required />
        </label>
        <button type="submit">Subscribe</button>
      </form>
    </section>
  );
}
