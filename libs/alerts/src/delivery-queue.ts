import { UnavailableError } from '@chiptrail/http';
import type { QueueBackend } from '@chiptrail/queue';
import type { Clock } from '@chiptrail/runtime';

export const DELIVERIES_QUEUE = 'deliveries';
export const DIGESTS_QUEUE = 'digests';

export interface DeliveryJob {
  readonly deliveryId: string;
  readonly attempt: number;
}

/**
 * Jobs for deliveries: one per attempt. Whether an attempt still has to happen is decided by the delivery row
 * (PostgreSQL), so a job that runs twice, or late, does no harm; the job id only saves work.
 */
export class DeliveryQueue {
  constructor(
    private readonly queues: QueueBackend,
    private readonly clock: Clock,
  ) {}

  async enqueue(deliveryId: string, attempt: number, delayMs: number): Promise<void> {
    const queue = this.queues.queue<DeliveryJob>(DELIVERIES_QUEUE);
    const jobId = `${deliveryId}-${attempt}`;
    if (delayMs <= 0) {
      // "Now" must mean now even if this attempt's job already waits (delayed) or has run (retry, recover, sweep).
      const existing = await answered(queue.getJob(jobId));
      if (existing) {
        const state = await answered(existing.getState());
        if (state === 'delayed') {
          await answered(existing.promote());
          return;
        }
        if (state === 'completed' || state === 'failed') await answered(existing.remove());
        else return;
      }
    }
    await answered(queue.add('deliver', { deliveryId, attempt }, jobOptions(jobId, delayMs)));
  }

  /**
   * First attempts of deliveries just written, in bulk. A job that already exists under the same id (the dispatch
   * was rolled back and redone) is left as it is: it has not run to completion, since its row was never visible.
   */
  async enqueueFirstAttempts(deliveryIds: readonly string[]): Promise<void> {
    const queue = this.queues.queue<DeliveryJob>(DELIVERIES_QUEUE);
    for (let start = 0; start < deliveryIds.length; start += BULK) {
      await answered(
        queue.addBulk(
          deliveryIds.slice(start, start + BULK).map((deliveryId) => ({ name: 'deliver', data: { deliveryId, attempt: 1 }, opts: jobOptions(`${deliveryId}-1`, 0) })),
        ),
      );
    }
  }

  async enqueueAt(deliveryId: string, attempt: number, at: Date): Promise<void> {
    await this.enqueue(deliveryId, attempt, at.getTime() - this.clock.now().getTime());
  }
}

const BULK = 1000;

function jobOptions(jobId: string, delayMs: number) {
  return {
    jobId,
    delay: Math.max(0, Math.round(delayMs)),
    // Infrastructure trouble (the database away, the row not yet committed) retries the job itself.
    attempts: 6,
    backoff: { type: 'exponential' as const, delay: 1000 },
    removeOnComplete: 1000,
    removeOnFail: 5000,
  };
}

const QUEUE_ANSWER_MS = 5000;

/**
 * A queue that is away does not answer (its client waits to reconnect): give up after a while, so a dispatch batch
 * rolls back and is retried, and a request fails with 503, instead of both hanging. A command that still goes
 * through later only adds a job whose id and row are the same as the retry's.
 */
async function answered<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new UnavailableError('queue_unavailable', `The job queue did not answer within ${QUEUE_ANSWER_MS / 1000} s.`)), QUEUE_ANSWER_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
