import { startFeedWorker } from '@chiptrail/feeds';
import { EventCatalogProjection } from '@chiptrail/policy';
import { PolicyProjection } from '@chiptrail/status';
import type { WorkerParts } from './worker-host';

/** Every projection and background service the product runs. Features add themselves here. */
export function workerParts(): WorkerParts {
  return {
    projections: [new PolicyProjection(), new EventCatalogProjection()],
    services: [(runtime) => startFeedWorker(runtime)],
  };
}
