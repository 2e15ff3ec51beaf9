import { useEffect, useState } from 'react';
import { api } from '../api';
import { day, Empty, Loading, ProblemBox, Scroll, StatusBadge } from '../components';
import { Link } from '../router';

interface ChipDetail {
  chip: string;
  vendor: string;
  model: string;
  datacenter: boolean;
  specs: unknown;
  classification: { tpp: number | null; performanceDensity: number | null; band: string; reason: string };
}

interface Stretch {
  validFrom: string | null;
  validTo: string | null;
  status: string;
  basis: string[];
  licensePolicy?: string | null;
  conditions?: Array<{ type: string; percent?: number }>;
}

interface Timeline {
  events: Array<{ eventId: string; type: string; effectiveAt: string; title: string | null; authority: string | null; source: { url: string } }>;
  destinations: Array<{ destination: string; export: Stretch[]; import: Stretch[] }>;
}

const START = Date.UTC(2022, 0, 1);

/** One chip: classification, timeline, and its status over time per destination (every change opens its basis). */
export function ChipPage({ chip }: { chip: string }) {
  const [detail, setDetail] = useState<ChipDetail | null>(null);
  const [timeline, setTimeline] = useState<Timeline | null>(null);
  const [picked, setPicked] = useState<{ destination: string; stretch: Stretch } | null>(null);
  const [direction, setDirection] = useState<'export' | 'import'>('export');
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    Promise.all([api<ChipDetail>(`/chips/${encodeURIComponent(chip)}`), api<Timeline>(`/chips/${encodeURIComponent(chip)}/timeline`)])
      .then(([d, t]) => {
        setDetail(d);
        setTimeline(t);
      })
      .catch(setError);
  }, [chip]);

  if (error) return <ProblemBox error={error} />;
  if (!detail || !timeline) return <Loading what={chip} />;
  const end = Date.UTC(new Date().getUTCFullYear() + 1, 0, 1);
  const x = (iso: string | null, fallback: number) => ((Math.min(Math.max(iso ? Date.parse(iso) : fallback, START), end) - START) / (end - START)) * 100;
  const years: number[] = [];
  for (let year = 2022; Date.UTC(year, 0, 1) < end; year += 1) years.push(year);

  return (
    <section>
      <h1>
        {detail.model} <span className="muted">{detail.vendor}</span>
      </h1>
      <dl className="facts">
        <dt>TPP</dt>
        <dd>{detail.classification.tpp ?? 'unknown'}</dd>
        <dt>Performance density</dt>
        <dd>{detail.classification.performanceDensity ?? 'unknown'}</dd>
        <dt>ECCN band</dt>
        <dd>
          {detail.classification.band} <span className="muted">({detail.classification.reason})</span>
        </dd>
        <dt>Datacenter part</dt>
        <dd>{detail.datacenter ? 'yes' : 'no'}</dd>
      </dl>

      <h2>Export status today</h2>
      {timeline.destinations.length === 0 ? (
        <Empty>No control names this chip: exports are unrestricted everywhere as far as the record shows.</Empty>
      ) : (
        <Scroll label="Export status today per destination">
          <table aria-label="Export status today per destination">
            <thead>
              <tr>
                <th scope="col">Destination</th>
                <th scope="col">Status</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {timeline.destinations.map((row) => {
                const now = Date.now();
                const today = row.export.find(
                  (s) => (!s.validFrom || Date.parse(s.validFrom) <= now) && (!s.validTo || Date.parse(s.validTo) > now),
                );
                return (
                  <tr key={row.destination} data-destination={row.destination}>
                    <th scope="row">{row.destination === '*' ? 'other destinations' : row.destination}</th>
                    <td>{today ? <StatusBadge status={today.status} /> : <StatusBadge status="unrestricted" />}</td>
                    <td>{today ? day(today.validFrom) : '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </Scroll>
      )}

      <h2>Status over time</h2>
      <label>
        Direction
        <select
          value={direction}
          onChange={(e) => {
            setDirection(e.target.value as 'export' | 'import');
            setPicked(null);
          }}
        >
          <option value="export">export (from the chip's origin)</option>
          <option value="import">import (into the destination)</option>
        </select>
      </label>
      <div className="chart" role="group" aria-label={`${direction === 'export' ? 'Export' : 'Import'} status over time per destination`}>
        <div className="chart-axis" aria-hidden="true">
          {years.map((year) => (
            <span key={year} style={{ left: `${x(new Date(Date.UTC(year, 0, 1)).toISOString(), START)}%` }}>
              {year}
            </span>
          ))}
        </div>
        {timeline.destinations.map((row) => (
          <div className="chart-row" key={row.destination}>
            <span className="chart-label">{row.destination === '*' ? 'other' : row.destination}</span>
            <div className="chart-track">
              {row[direction].map((stretch, index) => {
                const left = x(stretch.validFrom, START);
                const width = Math.max(x(stretch.validTo, end) - left, 0.6);
                return (
                  <button
                    type="button"
                    key={index}
                    className={`band status-${stretch.status}`}
                    style={{ left: `${left}%`, width: `${width}%` }}
                    aria-label={`${row.destination} ${direction}: ${stretch.status} from ${day(stretch.validFrom)} to ${stretch.validTo ? day(stretch.validTo) : 'further notice'}`}
                    onClick={() => setPicked({ destination: row.destination, stretch })}
                  />
                );
              })}
            </div>
          </div>
        ))}
        <p className="legend">
          {(direction === 'export' ? ['prohibited', 'license_required', 'licensed', 'notification_required', 'unrestricted'] : ['prohibited', 'discouraged', 'open']).map((s) => (
            <StatusBadge key={s} status={s} />
          ))}
        </p>
      </div>
      {picked && (
        <div className="picked" role="region" aria-label="Selected period">
          <h3>
            {picked.destination}: <StatusBadge status={picked.stretch.status} /> {day(picked.stretch.validFrom)} → {picked.stretch.validTo ? day(picked.stretch.validTo) : 'further notice'}
          </h3>
          {picked.stretch.licensePolicy && <p>Licence policy: {picked.stretch.licensePolicy}</p>}
          {picked.stretch.conditions && picked.stretch.conditions.length > 0 && (
            <p>Conditions: {picked.stretch.conditions.map((c) => `${c.type}${c.percent !== undefined ? ` ${c.percent}%` : ''}`).join(', ')}</p>
          )}
          <p>Based on:</p>
          <ul>
            {picked.stretch.basis.length === 0 && <li className="muted">nothing applies</li>}
            {picked.stretch.basis.map((id) => {
              const event = timeline.events.find((e) => e.eventId === id);
              return (
                <li key={id}>
                  <Link to={`/events/${id}`}>{event ? `${event.type}: ${event.title ?? id}` : id}</Link>
                </li>
              );
            })}
          </ul>
        </div>
      )}

      <h2>Timeline</h2>
      <Scroll label="Events concerning this chip">
        <table aria-label="Events concerning this chip">
          <thead>
            <tr>
              <th scope="col">Effective</th>
              <th scope="col">Event</th>
              <th scope="col">Authority</th>
              <th scope="col">Source</th>
            </tr>
          </thead>
          <tbody>
            {timeline.events.map((event) => (
              <tr key={event.eventId}>
                <td>{day(event.effectiveAt)}</td>
                <td>
                  <Link to={`/events/${event.eventId}`}>
                    {event.type}
                    {event.title ? `: ${event.title}` : ''}
                  </Link>
                </td>
                <td>{event.authority ?? '—'}</td>
                <td>
                  <a href={event.source.url} target="_blank" rel="noopener noreferrer">
                    source
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Scroll>
    </section>
  );
}
