import { useEffect, useState } from 'react';
import { api } from '../api';
import { Loading, ProblemBox, when } from '../components';
import { Link } from '../router';

interface Report {
  ok: boolean;
  eventsVerified: number;
  head: { position: number; hash: string };
  firstBroken: { position: number; eventId: string; streamId: string; reason: string } | null;
  brokenCount: number;
  verifiedAt: string;
}

interface Head {
  events: number;
  last: { position: number; eventId: string; streamId: string; hash: string; recordedAt: string } | null;
}

/** The hash chain: its head, and a verification run on demand. */
export function IntegrityPage() {
  const [head, setHead] = useState<Head | null>(null);
  const [report, setReport] = useState<Report | null>(null);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<Head>('/integrity/head').then(setHead).catch(setError);
  }, []);
  const run = async () => {
    setRunning(true);
    setError(null);
    try {
      setReport(await api<Report>('/integrity'));
    } catch (caught) {
      setError(caught);
    } finally {
      setRunning(false);
    }
  };
  return (
    <section>
      <h1>Integrity</h1>
      <h2>Chain head</h2>
      {head === null ? (
        <Loading what="the chain head" />
      ) : head.last === null ? (
        <p className="empty">The log is empty.</p>
      ) : (
        <dl className="facts">
          <dt>Events in the log</dt>
          <dd>{head.events}</dd>
          <dt>Newest event</dt>
          <dd>
            position {head.last.position}, recorded {when(head.last.recordedAt)}, stream <code>{head.last.streamId}</code>
            {' '}
            (<Link to={`/events/${head.last.eventId}`}>open</Link>)
          </dd>
          <dt>Its hash</dt>
          <dd>
            <code className="hash">{head.last.hash}</code>
          </dd>
        </dl>
      )}
      <h2>Verification</h2>
      <p>Recomputes every event's hash from its stored columns and checks every link of every stream.</p>
      <button type="button" onClick={() => void run()} disabled={running}>
        {running ? 'Verifying…' : 'Run verification'}
      </button>
      <ProblemBox error={error} />
      {report && (
        <div className={report.ok ? 'notice' : 'problem'} role="status" aria-live="polite">
          <h3>{report.ok ? 'The log verifies' : 'The log is broken'}</h3>
          <dl className="facts">
            <dt>Events verified</dt>
            <dd>{report.eventsVerified}</dd>
            <dt>Head position</dt>
            <dd>{report.head.position}</dd>
            <dt>Digest of the whole log</dt>
            <dd>
              <code className="hash">{report.head.hash}</code>
            </dd>
            <dt>Verified at</dt>
            <dd>{when(report.verifiedAt)}</dd>
            {report.firstBroken && (
              <>
                <dt>First broken link</dt>
                <dd>
                  position {report.firstBroken.position} ({report.firstBroken.reason}) in {report.firstBroken.streamId}
                </dd>
              </>
            )}
          </dl>
        </div>
      )}
    </section>
  );
}
