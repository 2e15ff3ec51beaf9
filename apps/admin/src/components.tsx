import type { ReactNode } from 'react';
import { ApiProblem } from './api';

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** An API refusal shown as the API said it: code, sentence, and each field at fault. */
export function ProblemBox({ error }: { error: unknown }) {
  if (!error) return null;
  if (error instanceof ApiProblem) {
    return (
      <div className="problem" role="alert">
        <strong>{error.detail}</strong> <code>{error.code}</code> <span className="muted">({error.status})</span>
        {error.problems.length > 0 && (
          <ul>
            {error.problems.map((problem, index) => (
              <li key={index}>
                <code>{problem.field}</code>: {problem.message}
              </li>
            ))}
          </ul>
        )}
      </div>
    );
  }
  return (
    <div className="problem" role="alert">
      {String((error as Error)?.message ?? error)}
    </div>
  );
}

const STATUS_LABEL: Record<string, string> = {
  prohibited: 'prohibited',
  license_required: 'licence required',
  licensed: 'licensed',
  notification_required: 'notification required',
  unrestricted: 'unrestricted',
  open: 'open',
  discouraged: 'discouraged',
};

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{STATUS_LABEL[status] ?? status}</span>;
}

export interface Highlight {
  start: number;
  end: number;
  kind: string;
  value: string;
}

/** Text with the classifier's matches marked. Everything stays text: nothing from a feed becomes markup. */
export function Highlighted({ text, highlights }: { text: string; highlights: Highlight[] }) {
  const parts: ReactNode[] = [];
  let cursor = 0;
  const sorted = [...highlights].sort((a, b) => a.start - b.start);
  sorted.forEach((highlight, index) => {
    if (highlight.start < cursor || highlight.end > text.length) return;
    if (highlight.start > cursor) parts.push(text.slice(cursor, highlight.start));
    parts.push(
      <mark key={index} className={`evidence-${highlight.kind}`} title={`${highlight.kind}: ${highlight.value}`}>
        {text.slice(highlight.start, highlight.end)}
      </mark>,
    );
    cursor = highlight.end;
  });
  if (cursor < text.length) parts.push(text.slice(cursor));
  return <>{parts}</>;
}

export function day(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 10) : '—';
}

export function when(iso: string | null | undefined): string {
  return iso ? iso.replace('T', ' ').slice(0, 19) : '—';
}

/** A table that may scroll sideways on a phone; focusable so keyboard users can scroll it too. */
export function Scroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="scroll" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/** JSON as text, in a focusable box that scrolls. */
export function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <pre className="json" tabIndex={0} aria-label={label}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}
