import type { WorkerParts } from './worker-host';

/** Every projection and background service the product runs. Features add themselves here. */
export function workerParts(): WorkerParts {
  return { projections: [], services: [] };
}
