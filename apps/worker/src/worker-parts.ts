import { AlertDispatcher, DeliveryQueue, startAlertWorker } from '@chiptrail/alerts';
import { startFeedWorker } from '@chiptrail/feeds';
import type { Runtime } from '@chiptrail/platform';
import { EventCatalogProjection } from '@chiptrail/policy';
import type { Projection } from '@chiptrail/projections';
import { PolicyProjection } from '@chiptrail/status';
import type { WorkerParts } from './worker-host';

/** The read models: what `projections:rebuild` can rebuild. */
export function rebuildableProjections(): Projection[] {
  return [new PolicyProjection(), new EventCatalogProjection()];
}

/** Every projection and background service the worker runs. Features add themselves here. */
export function workerParts(runtime: Runtime): WorkerParts {
  return {
    projections: [...rebuildableProjections(), new AlertDispatcher(new DeliveryQueue(runtime.queues, runtime.clock))],
    services: [(rt) => startFeedWorker(rt), (rt) => startAlertWorker(rt)],
  };
}
