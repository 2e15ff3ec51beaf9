import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api';
import { Empty, Loading, ProblemBox, Scroll, when } from '../components';
import { can, useSession } from '../session';

interface Feed {
  id: string;
  url: string;
  name: string;
  kind: string;
  defaultAuthority: string | null;
  pollIntervalSeconds: number;
  enabled: boolean;
  healthy: boolean;
  lastFetchedAt: string | null;
  lastStatus: string | null;
  lastError: string | null;
  consecutiveErrors: number;
  nextPollAt: string | null;
  items: { total: number; pending: number };
}

/** Feeds and their health; admins add and change them, curators poll them now. */
export function FeedsPage() {
  const { session } = useSession();
  const [feeds, setFeeds] = useState<Feed[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [draft, setDraft] = useState({ url: '', name: '', defaultAuthority: '', pollIntervalSeconds: '3600' });
  const [editing, setEditing] = useState<{ id: string; name: string; url: string; pollIntervalSeconds: string } | null>(null);
  const admin = can(session, 'admin');

  const load = useCallback(() => {
    api<Feed[]>('/feeds')
      .then(setFeeds)
      .catch((caught) => {
        setError(caught);
        setFeeds([]);
      });
  }, []);
  useEffect(load, [load]);

  const act = async (work: () => Promise<unknown>, done: string) => {
    setError(null);
    try {
      await work();
      setNotice(done);
      load();
    } catch (caught) {
      setError(caught);
    }
  };

  const add = (event: FormEvent) => {
    event.preventDefault();
    void act(
      () =>
        api('/feeds', {
          body: { url: draft.url, name: draft.name, pollIntervalSeconds: Number(draft.pollIntervalSeconds), ...(draft.defaultAuthority ? { defaultAuthority: draft.defaultAuthority } : {}) },
        }),
      `Added ${draft.name}`,
    );
  };

  return (
    <section>
      <h1>Feeds</h1>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <ProblemBox error={error} />
      {feeds === null ? (
        <Loading what="feeds" />
      ) : feeds.length === 0 ? (
        <Empty>No feeds yet.</Empty>
      ) : (
        <Scroll label="Feeds">
          <table aria-label="Feeds">
            <thead>
              <tr>
                <th scope="col">Feed</th>
                <th scope="col">Health</th>
                <th scope="col">Last fetch</th>
                <th scope="col">Next poll</th>
                <th scope="col">Items</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {feeds.map((feed) => (
                <tr key={feed.id}>
                  <td>
                    <strong>{feed.name}</strong>
                    <br />
                    <span className="muted break">{feed.url}</span>
                  </td>
                  <td>
                    <span className={`badge ${feed.enabled ? (feed.healthy ? 'ok' : 'bad') : ''}`}>{feed.enabled ? (feed.healthy ? 'healthy' : 'failing') : 'disabled'}</span>
                    {feed.consecutiveErrors > 0 && <span className="muted"> {feed.consecutiveErrors} errors</span>}
                    {feed.lastError && <div className="muted break">{feed.lastError}</div>}
                  </td>
                  <td>
                    {when(feed.lastFetchedAt)} {feed.lastStatus && <span className="badge">{feed.lastStatus}</span>}
                  </td>
                  <td>{when(feed.nextPollAt)}</td>
                  <td>
                    {feed.items.pending} pending / {feed.items.total}
                  </td>
                  <td className="actions">
                    <button type="button" aria-label={`Poll now: ${feed.name}`} onClick={() => void act(() => api(`/feeds/${feed.id}/poll`, { method: 'POST' }), `Polled ${feed.name}`)}>
                      Poll now
                    </button>
                    {admin && (
                      <>
                        <button
                          type="button"
                          aria-label={`${feed.enabled ? 'Disable' : 'Enable'}: ${feed.name}`}
                          onClick={() => void act(() => api(`/feeds/${feed.id}`, { method: 'PATCH', body: { enabled: !feed.enabled } }), `${feed.enabled ? 'Disabled' : 'Enabled'} ${feed.name}`)}
                        >
                          {feed.enabled ? 'Disable' : 'Enable'}
                        </button>
                        <button type="button" aria-label={`Edit: ${feed.name}`} onClick={() => setEditing({ id: feed.id, name: feed.name, url: feed.url, pollIntervalSeconds: String(feed.pollIntervalSeconds) })}>
                          Edit
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
      {admin && editing && (
        <form
          aria-label="Edit feed"
          onSubmit={(event) => {
            event.preventDefault();
            void act(() => api(`/feeds/${editing.id}`, { method: 'PATCH', body: { name: editing.name, url: editing.url, pollIntervalSeconds: Number(editing.pollIntervalSeconds) } }), `Saved ${editing.name}`).then(() => setEditing(null));
          }}
        >
          <h2>Edit feed</h2>
          <label>
            Name
            <input value={editing.name} onChange={(e) => setEditing({ ...editing, name: e.target.value })} />
          </label>
          <label>
            URL
            <input value={editing.url} onChange={(e) => setEditing({ ...editing, url: e.target.value })} />
          </label>
          <label>
            Poll interval (seconds)
            <input type="number" min={1} value={editing.pollIntervalSeconds} onChange={(e) => setEditing({ ...editing, pollIntervalSeconds: e.target.value })} />
          </label>
          <button type="submit">Save</button>
        </form>
      )}
      {admin && (
        <form onSubmit={add} aria-label="Add a feed">
          <h2>Add a feed</h2>
          <label>
            Name
            <input value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} required />
          </label>
          <label>
            URL (RSS, Atom or the Federal Register API)
            <input value={draft.url} onChange={(e) => setDraft({ ...draft, url: e.target.value })} required />
          </label>
          <label>
            Default authority
            <input value={draft.defaultAuthority} placeholder="US-BIS" onChange={(e) => setDraft({ ...draft, defaultAuthority: e.target.value })} />
          </label>
          <label>
            Poll interval (seconds)
            <input type="number" min={1} value={draft.pollIntervalSeconds} onChange={(e) => setDraft({ ...draft, pollIntervalSeconds: e.target.value })} />
          </label>
          <button type="submit">Add feed</button>
        </form>
      )}
    </section>
  );
}
