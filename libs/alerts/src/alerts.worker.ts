import { UnrecoverableError } from 'bullmq';
import type { Runtime } from '@chiptrail/platform';
import { alertsComponents, type AlertsOptions } from './alerts.components';
import { DELIVERIES_QUEUE, DIGESTS_QUEUE, type DeliveryJob } from './delivery-queue';
import { DeliveryNotReady } from './delivery.service';

const SWEEP_QUEUE = 'deliveries-sweep';

/**
 * The worker side of alerts: attempts deliveries (many at once, so one slow endpoint delays nobody), composes daily
 * digests, and sweeps for deliveries whose job went missing.
 */
export async function startAlertWorker(runtime: Runtime, options: AlertsOptions = {}): Promise<() => Promise<void>> {
  const alerts = alertsComponents(runtime, options);
  await alerts.digestScheduler.reconcile(await alerts.subscriptions.digestSchedules());
  const deliveries = runtime.queues.worker<DeliveryJob>(
    DELIVERIES_QUEUE,
    async (job) => {
      try {
        return await alerts.deliveries.attempt(job.data.deliveryId, job.data.attempt);
      } catch (error) {
        // A row not visible after the job's own retries never will be: its dispatch was rolled back and redone.
        if (error instanceof DeliveryNotReady && job.attemptsMade >= 5) throw new UnrecoverableError(error.message);
        throw error;
      }
    },
    { concurrency: 20, lockDuration: runtime.config.deliveryLockMs, stalledInterval: Math.max(1000, Math.floor(runtime.config.deliveryLockMs / 2)) },
  );
  const digests = runtime.queues.worker<{ subscriptionId: string }>(DIGESTS_QUEUE, async (job) => alerts.composer.compose(job.data.subscriptionId), { concurrency: 4 });
  await runtime.queues.queue(SWEEP_QUEUE).upsertJobScheduler('sweep', { every: 30_000 }, { name: 'sweep', opts: { removeOnComplete: 10, removeOnFail: 50 } });
  const sweeper = runtime.queues.worker(SWEEP_QUEUE, async () => alerts.deliveries.sweep(), { concurrency: 1 });
  return async () => {
    await Promise.allSettled([deliveries.close(), digests.close(), sweeper.close()]);
    await alerts.mailer.close();
  };
}
