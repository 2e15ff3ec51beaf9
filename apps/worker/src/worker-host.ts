import type { Runtime } from '@chiptrail/platform';
import { ProjectionRunner, type Projection } from '@chiptrail/projections';

export interface WorkerParts {
  readonly projections: readonly Projection[];
  /** Started after the projections (BullMQ workers, schedulers); each returns its own stop function. */
  readonly services?: ReadonlyArray<(runtime: Runtime) => Promise<() => Promise<void>>>;
}

/**
 * The worker process: one runner per projection (leading or standing by, see ProjectionRunner) and the BullMQ
 * processors. Holds no state that must be unique: any number of workers may run against one database.
 */
export class WorkerHost {
  readonly runners: ProjectionRunner[];
  private stops: Array<() => Promise<void>> = [];

  constructor(
    private readonly runtime: Runtime,
    private readonly parts: WorkerParts,
  ) {
    this.runners = parts.projections.map(
      (projection) =>
        new ProjectionRunner(runtime.db, runtime.store, projection, {
          pollMs: runtime.config.projectionPollMs,
          logger: runtime.logger,
        }),
    );
  }

  async start(): Promise<void> {
    for (const runner of this.runners) runner.start();
    for (const service of this.parts.services ?? []) this.stops.push(await service(this.runtime));
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.stops.map((stop) => stop()));
    this.stops = [];
    await Promise.allSettled(this.runners.map((runner) => runner.stop()));
  }
}
