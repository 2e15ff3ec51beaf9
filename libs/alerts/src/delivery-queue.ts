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
      const existing = await queue.getJob(jobId);
      if (existing) {
        const state = await existing.getState();
        if (state === 'delayed') {
          await existing.promote();
          return;
        }
        if (state === 'completed' || state === 'failed') await existing.remove();
        else return;
      }
    }
    await queue.add(
      'deliver',
      { deliveryId, attempt },
      {
        jobId,
        delay: Math.max(0, Math.round(delayMs)),
        // Infrastructure trouble (the database away, the row not yet committed) retries the job itself.
        attempts: 6,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: 1000,
        removeOnFail: 5000,
      },
    );
  }

  async enqueueAt(deliveryId: string, attempt: number, at: Date): Promise<void> {
    await this.enqueue(deliveryId, attempt, at.getTime() - this.clock.now().getTime());
  }
}
