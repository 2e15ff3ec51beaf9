import { useCallback, useEffect, useRef, useState } from 'react';
import { api, query } from '../api';
import { day, Empty, Highlighted, Json, Loading, ProblemBox, Scroll, type Highlight } from '../components';
import { Link } from '../router';
import { can, useSession } from '../session';

interface Evidence extends Highlight {
  field: 'title' | 'summary';
  text: string;
}

interface Item {
  id: string;
  feedId: string;
  feedName: string;
  title: string;
  link: string | null;
  publishedAt: string | null;
  summary: string | null;
  proposed: { type: string; data: Record<string, unknown>; effectiveAt?: string; source: { url: string } } | null;
  confidence: number;
  evidence: Evidence[];
  reasons: string[];
  status: string;
  updated: boolean;
  approvedEventId: string | null;
}

interface Counts {
  feedId: string;
  name: string;
  pending: number;
  irrelevant: number;
  approved: number;
  rejected: number;
}

/** Triage: proposed events from feeds with their evidence; approve, edit-then-approve, reject. Keys: j k a e r. */
export function InboxPage() {
  const { session } = useSession();
  const [items, setItems] = useState<Item[] | null>(null);
  const [counts, setCounts] = useState<Counts[]>([]);
  const [feedId, setFeedId] = useState('');
  const [status, setStatus] = useState('pending');
  const [selected, setSelected] = useState(0);
  const [editing, setEditing] = useState<string | null>(null);
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const reasonRef = useRef<HTMLInputElement>(null);
  const curator = can(session, 'curator');

  const load = useCallback(async () => {
    try {
      const [list, perFeed] = await Promise.all([
        api<{ items: Item[] }>(`/inbox${query({ feedId, status, limit: 200 })}`),
        api<Counts[]>('/inbox/counts'),
      ]);
      setItems(list.items);
      setCounts(perFeed);
      setSelected((current) => Math.min(current, Math.max(list.items.length - 1, 0)));
    } catch (caught) {
      setError(caught);
      setItems([]);
    }
  }, [feedId, status]);

  useEffect(() => {
    void load();
  }, [load]);

  const item = items?.[selected];

  const approve = useCallback(
    async (edited?: string) => {
      if (!item) return;
      setError(null);
      try {
        const body = edited === undefined ? undefined : JSON.parse(edited);
        const result = await api<{ event: { id: string } }>(`/inbox/${item.id}/approve`, { method: 'POST', body: body ?? {} });
        setEditing(null);
        await load();
        setNotice(`Approved: event ${result.event.id}`);
      } catch (caught) {
        setError(caught instanceof SyntaxError ? new Error(`The edited event is not valid JSON: ${caught.message}`) : caught);
      }
    },
    [item, load],
  );

  const reject = async () => {
    if (!item) return;
    setError(null);
    try {
      await api(`/inbox/${item.id}/reject`, { body: { reason } });
      setRejecting(false);
      setReason('');
      await load();
      setNotice(`Rejected: ${item.title}`);
    } catch (caught) {
      setError(caught);
    }
  };

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      if (['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName) || event.metaKey || event.ctrlKey || event.altKey) return;
      if (event.key === 'j') setSelected((s) => Math.min(s + 1, (items?.length ?? 1) - 1));
      else if (event.key === 'k') setSelected((s) => Math.max(s - 1, 0));
      else if (!curator || !item || item.status === 'approved') return;
      else if (event.key === 'a' && item.proposed) void approve();
      else if (event.key === 'e') setEditing(JSON.stringify(item.proposed ?? { type: '', data: {} }, null, 2));
      else if (event.key === 'r') {
        setRejecting(true);
        setTimeout(() => reasonRef.current?.focus(), 0);
      } else return;
      event.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [items, item, curator, approve]);

  return (
    <section>
      <h1>Inbox</h1>
      <div className="toolbar">
        <label>
          Feed
          <select value={feedId} onChange={(e) => setFeedId(e.target.value)}>
            <option value="">All feeds</option>
            {counts.map((c) => (
              <option key={c.feedId} value={c.feedId}>
                {c.name} ({c.pending} pending)
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            {['pending', 'approved', 'rejected', 'irrelevant', 'all'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <p className="muted keys">Keys: j/k move · a approve · e edit then approve · r reject</p>
      </div>
      <Scroll label="Items per feed">
        <table className="counts" aria-label="Items per feed">
          <thead>
            <tr>
              <th scope="col">Feed</th>
              <th scope="col">Pending</th>
              <th scope="col">Approved</th>
              <th scope="col">Rejected</th>
              <th scope="col">Irrelevant</th>
            </tr>
          </thead>
          <tbody>
            {counts.map((c) => (
              <tr key={c.feedId}>
                <td>{c.name}</td>
                <td>{c.pending}</td>
                <td>{c.approved}</td>
                <td>{c.rejected}</td>
                <td>{c.irrelevant}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Scroll>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <ProblemBox error={error} />
      {items === null ? (
        <Loading what="the inbox" />
      ) : items.length === 0 ? (
        <Empty>Nothing here. New feed items appear as feeds are polled.</Empty>
      ) : (
        <div className="split">
          <ol className="item-list" aria-label="Inbox items">
            {items.map((entry, index) => (
              <li key={entry.id}>
                <button type="button" className={index === selected ? 'selected' : ''} aria-current={index === selected} onClick={() => setSelected(index)}>
                  <span className="item-title">{entry.title}</span>
                  <span className="muted">
                    {entry.feedName} · {day(entry.publishedAt)} · {Math.round(entry.confidence * 100)}%{entry.updated ? ' · updated' : ''}
                  </span>
                </button>
              </li>
            ))}
          </ol>
          {item && (
            <article className="item-detail" aria-label="Selected item">
              <h2>
                <Highlighted text={item.title} highlights={item.evidence.filter((e) => e.field === 'title')} />
              </h2>
              <p className="muted">
                {item.feedName} · published {day(item.publishedAt)} · confidence {Math.round(item.confidence * 100)}% · {item.status}
              </p>
              {item.summary && (
                <p>
                  <Highlighted text={item.summary} highlights={item.evidence.filter((e) => e.field === 'summary')} />
                </p>
              )}
              {item.link && (
                <p>
                  <a href={item.link} target="_blank" rel="noopener noreferrer">
                    Source
                  </a>
                </p>
              )}
              <h3>Evidence</h3>
              <ul className="evidence">
                {item.evidence.map((e, index) => (
                  <li key={index}>
                    <mark className={`evidence-${e.kind}`}>{e.text}</mark> → {e.kind} {e.value}
                  </li>
                ))}
                {item.reasons.map((r, index) => (
                  <li key={`r${index}`} className="muted">
                    {r}
                  </li>
                ))}
              </ul>
              <h3>Proposed event</h3>
              {item.proposed ? <Json value={item.proposed} label="Proposed event" /> : <Empty>No proposal: edit one to approve.</Empty>}
              {item.approvedEventId && (
                <p>
                  Approved as <Link to={`/events/${item.approvedEventId}`}>event {item.approvedEventId}</Link>
                </p>
              )}
              {curator && item.status !== 'approved' && item.status !== 'rejected' && (
                <div className="actions">
                  <button type="button" onClick={() => void approve()} disabled={!item.proposed}>
                    Approve (a)
                  </button>
                  <button type="button" onClick={() => setEditing(JSON.stringify(item.proposed ?? { type: '', data: {} }, null, 2))}>
                    Edit then approve (e)
                  </button>
                  <button type="button" className="danger" onClick={() => setRejecting(true)}>
                    Reject (r)
                  </button>
                </div>
              )}
              {editing !== null && (
                <form
                  onSubmit={(event) => {
                    event.preventDefault();
                    void approve(editing);
                  }}
                >
                  <label>
                    Edited event (JSON: type, data, effectiveAt; the source is the item)
                    <textarea rows={14} value={editing} onChange={(e) => setEditing(e.target.value)} />
                  </label>
                  <button type="submit">Approve edited event</button>{' '}
                  <button type="button" className="link" onClick={() => setEditing(null)}>
                    Cancel
                  </button>
                </form>
              )}
              {rejecting && (
                <form
                  onSubmit={(event) => {
                    event.preventDefault();
                    void reject();
                  }}
                >
                  <label>
                    Reason
                    <input ref={reasonRef} value={reason} onChange={(e) => setReason(e.target.value)} required />
                  </label>
                  <button type="submit" className="danger">
                    Reject item
                  </button>
                </form>
              )}
            </article>
          )}
        </div>
      )}
    </section>
  );
}
