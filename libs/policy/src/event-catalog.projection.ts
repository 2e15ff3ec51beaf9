import { isPolicyEventType } from '@chiptrail/domain';
import type { Sql } from '@chiptrail/db';
import type { StoredEvent } from '@chiptrail/event-store';
import type { Projection } from '@chiptrail/projections';

/** Every policy event with what it is about, for listing and filtering, with its retraction and corrections. */
export class EventCatalogProjection implements Projection {
  readonly name = 'event_catalog';
  readonly tables = ['event_catalog'] as const;
  readonly batchSize = 2000;

  async apply(events: readonly StoredEvent[], tx: Sql): Promise<void> {
    const rows = events.filter((event) => isPolicyEventType(event.type)).map(catalogRow);
    if (rows.length === 0) return;
    await tx.query(
      `INSERT INTO event_catalog (position, event_id, stream_id, type, authority, chips, eccn_bands, destinations, title,
                                  effective_at, recorded_at, data, source, actor, target_event_id)
       SELECT position, event_id, stream_id, type, authority, chips, eccn_bands, destinations, title, effective_at, recorded_at,
              data, source, actor, target_event_id
         FROM jsonb_to_recordset($1::jsonb) AS r(position bigint, event_id uuid, stream_id text, type text, authority text,
              chips text[], eccn_bands text[], destinations text[], title text, effective_at timestamptz, recorded_at timestamptz,
              data jsonb, source jsonb, actor text, target_event_id uuid)
       ON CONFLICT (position) DO NOTHING`,
      [JSON.stringify(rows)],
    );
    const retractions = rows.filter((row) => row.type === 'EventRetracted');
    if (retractions.length > 0) {
      await tx.query(
        `UPDATE event_catalog c SET retracted_by = r.event_id, retracted_at = r.recorded_at
           FROM jsonb_to_recordset($1::jsonb) AS r(event_id uuid, target_event_id uuid, recorded_at timestamptz)
          WHERE c.event_id = r.target_event_id`,
        [JSON.stringify(retractions)],
      );
    }
    const corrections = rows.filter((row) => row.type === 'EventCorrected');
    for (const correction of corrections) {
      await tx.query(`UPDATE event_catalog SET corrected_by = corrected_by || $2::uuid WHERE event_id = $1`, [
        correction.target_event_id,
        correction.event_id,
      ]);
    }
  }
}

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
    event_id: event.id,
    stream_id: event.streamId,
    type: event.type,
    authority: typeof data.authority === 'string' ? data.authority : null,
    chips: [...chips],
    eccn_bands: list(scope.eccnBands),
    destinations: list(data.destinations),
    title: typeof data.title === 'string' ? data.title : (event.metadata.source?.title ?? null),
    effective_at: event.effectiveAt,
    recorded_at: event.recordedAt,
    data,
    source: event.metadata.source ?? null,
    actor: event.metadata.actor,
    target_event_id: typeof data.eventId === 'string' ? data.eventId : null,
  };
}
