import { useState, type FormEvent } from 'react';
import { POLICY_EVENT_TYPES, ValidationError, parseRecordEventRequest, type PolicyEventType } from '@chiptrail/domain';
import { api } from '../api';
import { ProblemBox } from '../components';
import { Link } from '../router';

const TEMPLATES: Partial<Record<PolicyEventType, Record<string, unknown>>> = {
  ChipRegistered: { chip: 'vendor-model', vendor: '', model: '', datacenter: true, specs: { denseTops: { fp16: 0 }, dieAreaMm2: 0 } },
  ControlImposed: { measureId: '', authority: 'US-BIS', direction: 'export', requirement: 'license_required', scope: { chips: [] }, destinations: ['CN'], title: '' },
  ControlAmended: { measureId: '', destinations: ['CN'] },
  ControlLifted: { measureId: '', reason: '' },
  LicenseGranted: { licenseId: '', authority: 'US-BIS', holder: '', chips: [], destinations: ['CN'], conditions: [] },
  LicenseRevoked: { licenseId: '', reason: '' },
  AdvisoryIssued: { advisoryId: '', authority: 'CN-CAC', level: 'discouraged', chips: [], destinations: ['CN'], title: '' },
  InvestigationOpened: { investigationId: '', authority: 'CN-SAMR', kind: 'antitrust', subjects: { companies: [] }, title: '' },
  EventRetracted: { eventId: '', reason: '' },
  EventCorrected: { eventId: '', effectiveAt: '', reason: '' },
};

/**
 * A manual event. It is checked here with the very schemas the API uses (libs/domain), and whatever the API still
 * refuses (a chip not registered, a licence never granted…) is shown as the API's problem details.
 */
export function NewEventPage() {
  const [type, setType] = useState<PolicyEventType>('ControlImposed');
  const [data, setData] = useState(JSON.stringify(TEMPLATES.ControlImposed, null, 2));
  const [effectiveAt, setEffectiveAt] = useState('');
  const [source, setSource] = useState({ url: '', title: '', publishedAt: '', confidence: '' });
  const [problems, setProblems] = useState<Array<{ field: string; message: string }>>([]);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<{ id: string; position: number } | null>(null);

  const chooseType = (next: PolicyEventType) => {
    setType(next);
    setData(JSON.stringify(TEMPLATES[next] ?? {}, null, 2));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setCreated(null);
    let parsedData: unknown;
    try {
      parsedData = JSON.parse(data);
    } catch (caught) {
      setProblems([{ field: 'data', message: `is not valid JSON: ${(caught as Error).message}` }]);
      return;
    }
    const body = {
      type,
      data: parsedData,
      ...(effectiveAt ? { effectiveAt } : {}),
      source: { url: source.url, title: source.title, publishedAt: source.publishedAt, ...(source.confidence ? { confidence: source.confidence } : {}) },
    };
    try {
      parseRecordEventRequest(body, new Date());
    } catch (caught) {
      if (caught instanceof ValidationError) {
        setProblems(caught.problems.length ? [...caught.problems] : [{ field: '(body)', message: caught.message }]);
        return;
      }
      throw caught;
    }
    setProblems([]);
    try {
      setCreated(await api<{ id: string; position: number }>('/events', { body }));
    } catch (caught) {
      setError(caught);
    }
  };

  const problemFor = (field: string) => problems.filter((p) => p.field === field || p.field.startsWith(`${field}.`));
  const fieldErrors = (field: string) =>
    problemFor(field).map((p) => (
      <span key={p.field + p.message} className="field-error">
        {p.field}: {p.message}
      </span>
    ));

  return (
    <section>
      <h1>Record an event</h1>
      <form onSubmit={submit} noValidate aria-label="New event">
        <label>
          Type
          <select value={type} onChange={(e) => chooseType(e.target.value as PolicyEventType)}>
            {POLICY_EVENT_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Data (JSON)
          <textarea rows={12} value={data} onChange={(e) => setData(e.target.value)} aria-invalid={problemFor('data').length > 0} />
        </label>
        {fieldErrors('data')}
        <label>
          Effective at (date or ISO timestamp)
          <input value={effectiveAt} placeholder="2025-04-09" onChange={(e) => setEffectiveAt(e.target.value)} aria-invalid={problemFor('effectiveAt').length > 0} />
        </label>
        {fieldErrors('effectiveAt')}
        <fieldset>
          <legend>Source</legend>
          <label>
            URL
            <input value={source.url} onChange={(e) => setSource({ ...source, url: e.target.value })} aria-invalid={problemFor('source.url').length > 0} />
          </label>
          {fieldErrors('source.url')}
          <label>
            Title
            <input value={source.title} onChange={(e) => setSource({ ...source, title: e.target.value })} />
          </label>
          {fieldErrors('source.title')}
          <label>
            Published at
            <input value={source.publishedAt} placeholder="2025-04-15" onChange={(e) => setSource({ ...source, publishedAt: e.target.value })} />
          </label>
          {fieldErrors('source.publishedAt')}
          <label>
            Confidence
            <select value={source.confidence} onChange={(e) => setSource({ ...source, confidence: e.target.value })}>
              <option value="">—</option>
              <option>high</option>
              <option>medium</option>
              <option>low</option>
            </select>
          </label>
        </fieldset>
        {problems.length > 0 && (
          <div className="problem" role="alert">
            <strong>Please fix:</strong>
            <ul>
              {problems.map((p) => (
                <li key={p.field + p.message}>
                  <code>{p.field}</code>: {p.message}
                </li>
              ))}
            </ul>
          </div>
        )}
        <ProblemBox error={error} />
        <button type="submit">Record</button>
      </form>
      {created && (
        <p className="notice" role="status">
          Recorded at position {created.position}: <Link to={`/events/${created.id}`}>event {created.id}</Link>
        </p>
      )}
    </section>
  );
}
