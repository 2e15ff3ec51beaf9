import { isPolicyEventType } from '@chiptrail/domain';
import { pgArray, type Sql } from '@chiptrail/db';
import type { StoredEvent } from '@chiptrail/event-store';
import type { Projection } from '@chiptrail/projections';

/**
 * Every policy event with what it is about, for listing and filtering, with its retraction and corrections.
 * The small derived columns go as parallel arrays; bodies are taken from the events table inside the server, so a
 * rebuild or a large import sends no event body back and no jsonb is parsed again.
 */
export class EventCatalogProjection implements Projection {
  readonly name = 'event_catalog';
  readonly tables = ['event_catalog'] as const;
  readonly batchSize = 2000;

  async apply(events: readonly StoredEvent[], tx: Sql): Promise<void> {
    const rows = events.filter((event) => isPolicyEventType(event.type)).map(catalogRow);
    if (rows.length === 0) return;
    const column = <K extends keyof CatalogRow>(key: K) => rows.map((row) => row[key]);
    await tx.query(
      `INSERT INTO event_catalog (position, event_id, stream_id, type, authority, chips, eccn_bands, destinations, title,
                                  effective_at, recorded_at, data, source, actor, target_event_id)
       SELECT e.global_position, e.event_id, e.stream_id, e.type, r.authority, r.chips::text[], r.eccn_bands::text[],
              r.destinations::text[], r.title, e.effective_at, e.recorded_at, e.data, nullif(e.metadata -> 'source', 'null'),
              e.metadata ->> 'actor', r.target_event_id
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[])
              AS r(position, authority, chips, eccn_bands, destinations, title, target_event_id)
         JOIN events e ON e.global_position = r.position
        ORDER BY e.global_position
       ON CONFLICT (position) DO NOTHING`,
      [
        column('position'),
        column('authority'),
        column('chips'),
        column('eccnBands'),
        column('destinations'),
        column('title'),
        column('targetEventId'),
      ],
    );
    const positions = column('position');
    if (rows.some((row) => row.type === 'EventRetracted')) {
      await tx.query(
        `UPDATE event_catalog c SET retracted_by = r.event_id, retracted_at = r.recorded_at
           FROM event_catalog r
          WHERE r.position = ANY ($1::bigint[]) AND r.type = 'EventRetracted' AND c.event_id = r.target_event_id`,
        [positions],
      );
    }
    if (rows.some((row) => row.type === 'EventCorrected')) {
      await tx.query(
        `UPDATE event_catalog c SET corrected_by = c.corrected_by || r.ids
           FROM (SELECT target_event_id, array_agg(event_id ORDER BY position) AS ids FROM event_catalog
                  WHERE position = ANY ($1::bigint[]) AND type = 'EventCorrected' GROUP BY target_event_id) AS r
          WHERE c.event_id = r.target_event_id`,
        [positions],
      );
    }
  }
}

type CatalogRow = ReturnType<typeof catalogRow>;

/** What an event is about: the chip it describes and the chips its scope, list or subjects name, each once. */
function catalogRow(event: StoredEvent) {
  const data = event.data as Record<string, unknown>;
  const list = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  const scope = (data.scope ?? {}) as Record<string, unknown>;
  const subjects = (data.subjects ?? {}) as Record<string, unknown>;
  const chips = new Set([
    ...(typeof data.chip === 'string' ? [data.chip] : []),
    ...list(scope.chips),
    ...list(data.chips),
    ...list(subjects.chips),
  ]);
  return {
    position: event.position,
    type: event.type,
    authority: typeof data.authority === 'string' ? data.authority : null,
    chips: pgArray([...chips]),
    eccnBands: pgArray(list(scope.eccnBands)),
    destinations: pgArray(list(data.destinations)),
    title: typeof data.title === 'string' ? data.title : (event.metadata.source?.title ?? null),
    targetEventId: typeof data.eventId === 'string' ? data.eventId : null,
  };
}
