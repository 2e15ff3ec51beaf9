import { useState } from 'react';
import { api } from '../api';
import { ProblemBox } from '../components';
import { can, useSession } from '../session';

/** The Bull Board dashboard: full for admins, read-only for curators (enforced by the server). */
export function QueuesPage() {
  const { session } = useSession();
  const [error, setError] = useState<unknown>(null);
  const open = async () => {
    try {
      await api('/auth/board-session', { method: 'POST' });
      window.location.assign('/admin/queues/');
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <section>
      <h1>Queues</h1>
      <p>Feed polling, alert deliveries and digests run as BullMQ jobs.</p>
      <p>{can(session, 'admin') ? 'As an admin you may retry and clean jobs.' : 'As a curator you see the queues read-only.'}</p>
      <button type="button" onClick={() => void open()}>
        Open the queue dashboard
      </button>
      <ProblemBox error={error} />
    </section>
  );
}
