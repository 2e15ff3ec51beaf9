import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '@chiptrail/runtime';

/** How long stopping api processes get to finish their requests before they are killed. */
const STOP_GRACE_MS = 15_000;
/** A process that ends sooner than this after it started counts as a crash loop: the next start waits longer. */
const STEADY_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;

/**
 * API_PROCESSES > 1: this process only supervises. It starts that many api processes, which share its port (Node's
 * cluster module: this process accepts connections and hands them out in turn). Each is a whole api with its own
 * pool and status cache, as replicas on other machines are, so nothing in them must be unique. The first starts
 * alone, so its first-start work (admin account, dataset) is done before the others start. A process that ends
 * unasked is replaced; SIGTERM or SIGINT stops them all. Resolves with the exit code for this process.
 */
export function superviseApiProcesses(count: number, logger: Logger): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    let up = false;
    let restartDelayMs = 1000;
    const started = new Map<Worker, number>();

    const start = (): Promise<boolean> => {
      const worker = cluster.fork();
      started.set(worker, Date.now());
      return new Promise((listening) => {
        worker.once('listening', () => listening(true));
        worker.once('exit', (code, signal) => {
          const lived = Date.now() - (started.get(worker) ?? 0);
          started.delete(worker);
          listening(false);
          // A stop that was asked for ends cleanly, even before the first process listened.
          if (stopping) {
            if (started.size === 0) resolve(0);
            return;
          }
          if (!up) return;
          restartDelayMs = lived < STEADY_MS ? Math.min(restartDelayMs * 2, MAX_RESTART_DELAY_MS) : 1000;
          logger.warn(`api process ${worker.process.pid} ended (${signal ?? `exit code ${code}`}); starting another in ${restartDelayMs / 1000} s`, 'ApiProcesses');
          setTimeout(() => void (stopping ? undefined : start()), restartDelayMs);
        });
      });
    };

    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info(`${signal}: stopping ${started.size} api processes`, 'ApiProcesses');
      if (started.size === 0) return resolve(0);
      for (const worker of started.keys()) worker.process.kill('SIGTERM');
      setTimeout(() => {
        for (const worker of started.keys()) worker.process.kill('SIGKILL');
      }, STOP_GRACE_MS).unref();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));

    void start().then((first) => {
      // The first could not start (bad configuration, no database): the others would fail the same way.
      if (!first) {
        if (!stopping) logger.error('the first api process could not start; see its output above', undefined, 'ApiProcesses');
        return resolve(stopping ? 0 : 1);
      }
      up = true;
      const others = Array.from({ length: count - 1 }, () => start());
      void Promise.all(others).then((ready) => {
        if (!stopping) logger.info(`${ready.filter(Boolean).length + 1} of ${count} api processes share the port`, 'ApiProcesses');
      });
    });
  });
}
