import { useEffect, useState } from 'react';
import { api } from '../api';
import { Empty, Loading, ProblemBox, Scroll, StatusBadge } from '../components';
import { Link } from '../router';

interface Chip {
  chip: string;
  vendor: string;
  model: string;
  classification: { band: string; tpp: number | null };
}

interface Check {
  results: Array<{ chip: string; destination: string; export?: { status: string }; import?: { status: string }; error?: { code: string } }>;
}

const DESTINATIONS = ['CN', 'HK', 'MO', 'RU', 'SA', 'AE', 'VN', 'IN', 'DE', 'US'];

/** Chips × destinations, coloured by export status, at any valid time as known at any time. */
export function ChipsPage() {
  const [chips, setChips] = useState<Chip[] | null>(null);
  const [asOf, setAsOf] = useState('');
  const [knownAt, setKnownAt] = useState('');
  const [cells, setCells] = useState<Map<string, Check['results'][number]>>(new Map());
  const [answeredFor, setAnsweredFor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api<{ items: Chip[] }>('/chips')
      .then((list) => setChips(list.items))
      .catch((caught) => {
        setError(caught);
        setChips([]);
      });
  }, []);

  useEffect(() => {
    if (!chips || chips.length === 0) return;
    const items = chips.flatMap((chip) => DESTINATIONS.map((destination) => ({ chip: chip.chip, destination })));
    api<Check>('/status/check', { body: { items, ...(asOf ? { asOf } : {}), ...(knownAt ? { knownAt } : {}) } })
      .then((check) => {
        setError(null);
        setCells(new Map(check.results.map((result) => [`${result.chip}|${result.destination}`, result])));
        setAnsweredFor(`${asOf}|${knownAt}`);
      })
      .catch(setError);
  }, [chips, asOf, knownAt]);

  return (
    <section>
      <h1>Chips</h1>
      <div className="toolbar">
        <label>
          As of (valid time)
          <input type="date" value={asOf} onChange={(e) => setAsOf(e.target.value)} />
        </label>
        <label>
          Known at
          <input type="date" value={knownAt} onChange={(e) => setKnownAt(e.target.value)} />
        </label>
        <p className="muted">Empty means now. A date means the end of that day (UTC).</p>
      </div>
      <ProblemBox error={error} />
      {chips === null ? (
        <Loading what="chips" />
      ) : chips.length === 0 ? (
        <Empty>No chips registered yet.</Empty>
      ) : (
        <Scroll label="Export status by chip and destination">
          <table className="matrix" aria-label="Export status by chip and destination" aria-busy={answeredFor !== `${asOf}|${knownAt}`} data-answered-for={answeredFor ?? ''}>
            <thead>
              <tr>
                <th scope="col">Chip</th>
                <th scope="col">Band</th>
                {DESTINATIONS.map((d) => (
                  <th scope="col" key={d}>
                    {d}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {chips.map((chip) => (
                <tr key={chip.chip}>
                  <th scope="row">
                    <Link to={`/chips/${chip.chip}`}>{chip.model}</Link>
                    <span className="muted"> {chip.vendor}</span>
                  </th>
                  <td>{chip.classification.band}</td>
                  {DESTINATIONS.map((destination) => {
                    const cell = cells.get(`${chip.chip}|${destination}`);
                    return (
                      <td key={destination} data-cell={`${chip.chip}|${destination}`} className={cell?.export ? `cell status-${cell.export.status}` : 'cell'}>
                        {cell?.export ? <StatusBadge status={cell.export.status} /> : <span className="muted">{cell?.error ? 'unknown then' : '…'}</span>}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
    </section>
  );
}
