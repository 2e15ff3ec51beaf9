import { useCallback, useEffect, useState } from 'react';
import { POLICY_EVENT_TYPES } from '@chiptrail/domain';
import { api, query } from '../api';
import { day, Empty, Loading, ProblemBox, Scroll, when } from '../components';
import { Link } from '../router';
import { can, useSession } from '../session';

interface Entry {
  id: string;
  position: number;
  type: string;
  authority: string | null;
  title: string | null;
  chips: string[];
  effectiveAt: string;
  recordedAt: string;
  retracted: { by: string } | null;
  correctedBy: string[];
}

/** The log, searchable and filterable, newest first. */
export function EventsPage() {
  const { session } = useSession();
  const [filters, setFilters] = useState({ type: '', authority: '', chip: '', effectiveFrom: '', effectiveTo: '' });
  const [search, setSearch] = useState('');
  const [words, setWords] = useState('');
  const [items, setItems] = useState<Entry[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(
    async (after?: string) => {
      try {
        const page = await api<{ items: Entry[]; nextCursor: string | null }>(`/events${query({ ...filters, q: words, cursor: after, limit: 100 })}`);
        setError(null);
        setItems((current) => (after && current ? [...current, ...page.items] : page.items));
        setCursor(page.nextCursor);
      } catch (caught) {
        setError(caught);
        setItems([]);
      }
    },
    [filters, words],
  );

  useEffect(() => {
    void load();
  }, [load]);

  // The server searches the whole log; typing waits for a pause before asking it.
  useEffect(() => {
    const timer = setTimeout(() => setWords(search.trim()), 250);
    return () => clearTimeout(timer);
  }, [search]);
  const shown = items ?? [];

  return (
    <section>
      <h1>Events</h1>
      {can(session, 'curator') && (
        <p>
          <Link to="/events/new" className="button">
            Record an event
          </Link>
        </p>
      )}
      <div className="toolbar">
        <label>
          Search
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
        <label>
          Type
          <select value={filters.type} onChange={(e) => setFilters({ ...filters, type: e.target.value })}>
            <option value="">Any</option>
            {POLICY_EVENT_TYPES.map((type) => (
              <option key={type}>{type}</option>
            ))}
          </select>
        </label>
        <label>
          Authority
          <input value={filters.authority} placeholder="US-BIS" onChange={(e) => setFilters({ ...filters, authority: e.target.value })} />
        </label>
        <label>
          Chip
          <input value={filters.chip} placeholder="nvidia-h20" onChange={(e) => setFilters({ ...filters, chip: e.target.value })} />
        </label>
        <label>
          Effective from
          <input type="date" value={filters.effectiveFrom} onChange={(e) => setFilters({ ...filters, effectiveFrom: e.target.value })} />
        </label>
        <label>
          to
          <input type="date" value={filters.effectiveTo} onChange={(e) => setFilters({ ...filters, effectiveTo: e.target.value })} />
        </label>
      </div>
      <ProblemBox error={error} />
      {items === null ? (
        <Loading what="events" />
      ) : shown.length === 0 ? (
        <Empty>No events match.</Empty>
      ) : (
        <Scroll label="Events">
          <table aria-label="Events">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Event</th>
                <th scope="col">Authority</th>
                <th scope="col">Effective</th>
                <th scope="col">Recorded</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((item) => (
                <tr key={item.id} className={item.retracted ? 'retracted' : ''}>
                  <td>{item.position}</td>
                  <td>
                    <Link to={`/events/${item.id}`}>
                      {item.type}
                      {item.title ? `: ${item.title}` : ''}
                    </Link>
                    {item.retracted && <span className="badge">retracted</span>}
                    {item.correctedBy.length > 0 && <span className="badge">corrected</span>}
                  </td>
                  <td>{item.authority ?? '—'}</td>
                  <td>{day(item.effectiveAt)}</td>
                  <td>{when(item.recordedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
      {cursor && (
        <button type="button" onClick={() => void load(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}
