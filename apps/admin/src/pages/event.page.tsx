import { useCallback, useEffect, useState } from 'react';
import { api } from '../api';
import { day, Json, Loading, ProblemBox, when } from '../components';
import { Link } from '../router';
import { can, useSession } from '../session';

interface Detail {
  id: string;
  position: number;
  streamId: string;
  streamVersion: number;
  type: string;
  title: string | null;
  authority: string | null;
  effectiveAt: string;
  recordedAt: string;
  actor: string;
  hash: string;
  data: Record<string, unknown>;
  source: { url?: string; title?: string; publishedAt?: string; confidence?: string } | null;
  metadata: Record<string, unknown>;
  corrections: Array<{ id: string; recordedAt: string; data: Record<string, unknown>; actor: string }>;
  retraction: { id: string; recordedAt: string; data: { reason?: string }; actor: string } | null;
}

/** One event: what it says, where it comes from, its hash, and what later corrected or retracted it. */
export function EventPage({ id }: { id: string }) {
  const { session } = useSession();
  const [event, setEvent] = useState<Detail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reason, setReason] = useState('');
  const [retracting, setRetracting] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(() => {
    api<Detail>(`/events/${encodeURIComponent(id)}`).then(setEvent).catch(setError);
  }, [id]);
  useEffect(load, [load]);

  const retract = async () => {
    setError(null);
    try {
      const result = await api<{ id: string }>('/events', { body: { type: 'EventRetracted', data: { eventId: id, reason }, source: event?.source?.url ? { url: event.source.url, title: `Retraction: ${reason}`.slice(0, 500), publishedAt: new Date().toISOString() } : undefined } });
      setNotice(`Retracted by event ${result.id}. The status will reflect it within moments.`);
      setRetracting(false);
      setTimeout(load, 500);
    } catch (caught) {
      setError(caught);
    }
  };

  if (!event) return error ? <ProblemBox error={error} /> : <Loading what="the event" />;
  const canRetract = can(session, 'curator') && !event.retraction && event.type !== 'EventRetracted';
  return (
    <section>
      <h1>
        {event.type}
        {event.title ? `: ${event.title}` : ''}
      </h1>
      {event.retraction && (
        <p className="problem" role="note">
          Retracted {when(event.retraction.recordedAt)} by {event.retraction.actor}: {event.retraction.data.reason}
        </p>
      )}
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <ProblemBox error={error} />
      <dl className="facts">
        <dt>Effective</dt>
        <dd>{day(event.effectiveAt)}</dd>
        <dt>Recorded</dt>
        <dd>{when(event.recordedAt)}</dd>
        <dt>Authority</dt>
        <dd>{event.authority ?? '—'}</dd>
        <dt>Recorded by</dt>
        <dd>{event.actor}</dd>
        <dt>Source</dt>
        <dd>
          {event.source?.url ? (
            <a href={event.source.url} target="_blank" rel="noopener noreferrer">
              {event.source.title ?? event.source.url}
            </a>
          ) : (
            '—'
          )}
          {event.source?.confidence && <span className="badge">confidence {event.source.confidence}</span>}
        </dd>
        <dt>Position</dt>
        <dd>
          {event.position} ({event.streamId} v{event.streamVersion})
        </dd>
        <dt>Hash</dt>
        <dd>
          <code className="hash">{event.hash}</code>
        </dd>
      </dl>
      <h2>Data</h2>
      <Json value={event.data} label="Event data" />
      <h2>Corrections</h2>
      {event.corrections.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ul>
          {event.corrections.map((correction) => (
            <li key={correction.id}>
              <Link to={`/events/${correction.id}`}>{when(correction.recordedAt)}</Link> by {correction.actor}: {String(correction.data.reason ?? '')}
            </li>
          ))}
        </ul>
      )}
      {canRetract && !retracting && (
        <button type="button" className="danger" onClick={() => setRetracting(true)}>
          Retract this event
        </button>
      )}
      {retracting && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void retract();
          }}
        >
          <label>
            Why is it retracted?
            <input value={reason} onChange={(e) => setReason(e.target.value)} required />
          </label>
          <button type="submit" className="danger">
            Retract
          </button>
        </form>
      )}
    </section>
  );
}
