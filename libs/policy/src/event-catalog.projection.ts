import { isPolicyEventType } from '@chiptrail/domain';
import type { Sql } from '@chiptrail/db';
import { EVENT_HEADERS, type EventHeader } from '@chiptrail/event-store';
import type { ShapedProjection } from '@chiptrail/projections';

/**
 * Every policy event with what it is about, for listing and filtering, with its retraction and corrections.
 * Rows are derived inside the server from the events table, so runners and rebuilds read this projection no event
 * bodies and nothing is parsed or sent twice. What an event is about: the chip it describes and the chips its
 * scope, list or subjects name (each once, in that order), its scope's bands, its destinations, its authority, its
 * title (or its source's) and the event it corrects or retracts. Values that are not strings are left out.
 */
export class EventCatalogProjection implements ShapedProjection {
  readonly name = 'event_catalog';
  readonly tables = ['event_catalog'] as const;
  readonly batchSize = 2000;
  readonly reads = EVENT_HEADERS;
  /**
   * Writes look rows up by position only (the primary key, also the insert's conflict arbiter): a retraction or
   * correction finds its target's position through the log's own event-id index, so a rebuild can build this table's
   * event-id index at the end with the rest.
   */
  readonly indexesReadWhileApplying = ['event_catalog_pkey'];

  async apply(events: readonly EventHeader[], tx: Sql): Promise<void> {
    const policy = events.filter((event) => isPolicyEventType(event.type));
    if (policy.length === 0) return;
    const positions = policy.map((event) => event.position);
    await tx.query(
      `INSERT INTO event_catalog (position, event_id, stream_id, type, authority, chips, eccn_bands, destinations, title,
                                  effective_at, recorded_at, data, source, actor, target_event_id)
       SELECT e.global_position, e.event_id, e.stream_id, e.type,
              CASE WHEN jsonb_typeof(e.data -> 'authority') = 'string' THEN e.data ->> 'authority' END,
              CASE
                WHEN e.data ?| ARRAY['scope', 'chips', 'subjects'] THEN
                  ARRAY(SELECT x #>> '{}' FROM jsonb_array_elements(
                          jsonb_build_array(e.data -> 'chip')
                          || CASE WHEN jsonb_typeof(e.data #> '{scope,chips}') = 'array' THEN e.data #> '{scope,chips}' ELSE '[]' END
                          || CASE WHEN jsonb_typeof(e.data -> 'chips') = 'array' THEN e.data -> 'chips' ELSE '[]' END
                          || CASE WHEN jsonb_typeof(e.data #> '{subjects,chips}') = 'array' THEN e.data #> '{subjects,chips}' ELSE '[]' END
                        ) WITH ORDINALITY AS a(x, n)
                         WHERE jsonb_typeof(x) = 'string' GROUP BY 1 ORDER BY min(n))
                WHEN jsonb_typeof(e.data -> 'chip') = 'string' THEN ARRAY[e.data ->> 'chip']
                ELSE '{}'
              END,
              CASE WHEN jsonb_typeof(e.data #> '{scope,eccnBands}') = 'array' THEN
                ARRAY(SELECT x #>> '{}' FROM jsonb_array_elements(e.data #> '{scope,eccnBands}') AS x WHERE jsonb_typeof(x) = 'string')
                ELSE '{}' END,
              CASE WHEN jsonb_typeof(e.data -> 'destinations') = 'array' THEN
                ARRAY(SELECT x #>> '{}' FROM jsonb_array_elements(e.data -> 'destinations') AS x WHERE jsonb_typeof(x) = 'string')
                ELSE '{}' END,
              CASE WHEN jsonb_typeof(e.data -> 'title') = 'string' THEN e.data ->> 'title' ELSE e.metadata #>> '{source,title}' END,
              e.effective_at, e.recorded_at, e.data, nullif(e.metadata -> 'source', 'null'), e.metadata ->> 'actor',
              CASE WHEN jsonb_typeof(e.data -> 'eventId') = 'string' THEN (e.data ->> 'eventId')::uuid END
         FROM events e
        -- The range keeps the lookup to this batch's part of the log: without it the planner may scan all of it.
        WHERE e.global_position = ANY ($1::bigint[]) AND e.global_position BETWEEN $2 AND $3
       ON CONFLICT (position) DO NOTHING`,
      [positions, positions[0], positions[positions.length - 1]],
    );
    const positionsOf = (type: string) => policy.filter((event) => event.type === type).map((event) => event.position);
    const retractions = positionsOf('EventRetracted');
    if (retractions.length > 0) {
      await tx.query(
        `UPDATE event_catalog c SET retracted_by = r.event_id, retracted_at = r.recorded_at
           FROM event_catalog r
           JOIN events target ON target.event_id = r.target_event_id
          WHERE r.position = ANY ($1::bigint[]) AND c.position = target.global_position`,
        [retractions],
      );
    }
    const corrections = positionsOf('EventCorrected');
    if (corrections.length > 0) {
      await tx.query(
        `UPDATE event_catalog c SET corrected_by = c.corrected_by || r.ids
           FROM (SELECT target_event_id, array_agg(event_id ORDER BY position) AS ids FROM event_catalog
                  WHERE position = ANY ($1::bigint[]) GROUP BY target_event_id) AS r
           JOIN events target ON target.event_id = r.target_event_id
          WHERE c.position = target.global_position`,
        [corrections],
      );
    }
  }
}
