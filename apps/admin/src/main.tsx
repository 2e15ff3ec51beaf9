import { StrictMode, useCallback, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { api, setToken, whenUnauthorized } from './api';
import { Loading } from './components';
import { AlertsPage } from './pages/alerts.page';
import { ChipPage } from './pages/chip.page';
import { ChipsPage } from './pages/chips.page';
import { EventPage } from './pages/event.page';
import { EventsPage } from './pages/events.page';
import { FeedsPage } from './pages/feeds.page';
import { InboxPage } from './pages/inbox.page';
import { IntegrityPage } from './pages/integrity.page';
import { NewEventPage } from './pages/new-event.page';
import { QueuesPage } from './pages/queues.page';
import { SignInPage } from './pages/sign-in.page';
import { Link, navigate, usePath } from './router';
import { SessionContext, can, type Session } from './session';
import './styles.css';

const NAV: Array<{ to: string; label: string; role: Session['role'] }> = [
  { to: '/inbox', label: 'Inbox', role: 'curator' },
  { to: '/chips', label: 'Chips', role: 'viewer' },
  { to: '/events', label: 'Events', role: 'viewer' },
  { to: '/feeds', label: 'Feeds', role: 'curator' },
  { to: '/alerts', label: 'Alerts', role: 'viewer' },
  { to: '/integrity', label: 'Integrity', role: 'viewer' },
  // /admin/queues itself is Bull Board; this page opens it.
  { to: '/jobs', label: 'Queues', role: 'curator' },
];

function page(path: string, session: Session) {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case undefined:
      return can(session, 'curator') ? <InboxPage /> : <ChipsPage />;
    case 'inbox':
      return <InboxPage />;
    case 'chips':
      return parts[1] ? <ChipPage chip={parts[1]} /> : <ChipsPage />;
    case 'events':
      if (parts[1] === 'new') return <NewEventPage />;
      return parts[1] ? <EventPage id={parts[1]} /> : <EventsPage />;
    case 'feeds':
      return <FeedsPage />;
    case 'alerts':
      return <AlertsPage />;
    case 'integrity':
      return <IntegrityPage />;
    case 'jobs':
      return <QueuesPage />;
    default:
      return <p>No such page.</p>;
  }
}

function App() {
  const path = usePath();
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(true);
  const signOut = useCallback(() => {
    setToken(null);
    setSession(null);
    navigate('/');
  }, []);

  useEffect(() => {
    whenUnauthorized(() => {
      setToken(null);
      setSession(null);
    });
    api<Session>('/auth/me')
      .then(setSession)
      .catch(() => setSession(null))
      .finally(() => setChecking(false));
  }, []);

  if (checking) return <Loading what="your session" />;
  if (!session) return <SignInPage onSignedIn={setSession} />;
  return (
    <SessionContext.Provider value={{ session, signOut }}>
      <header className="top">
        <span className="brand">chiptrail</span>
        <nav aria-label="Main">
          {NAV.filter((item) => can(session, item.role)).map((item) => (
            <Link key={item.to} to={item.to} className={path.startsWith(item.to) ? 'active' : ''}>
              {item.label}
            </Link>
          ))}
        </nav>
        <span className="who">
          <span className="muted">{session.id}</span> <span className="badge">{session.role}</span>{' '}
          <button type="button" className="link" onClick={signOut}>
            Sign out
          </button>
        </span>
      </header>
      <main>{page(path, session)}</main>
    </SessionContext.Provider>
  );
}

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
