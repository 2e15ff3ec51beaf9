import { useState, type FormEvent } from 'react';
import { api, setToken } from '../api';
import { ProblemBox } from '../components';
import type { Session } from '../session';

/** Sign in with the admin account (or any account), or with an API key whose role decides what the UI offers. */
export function SignInPage({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const withPassword = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { token } = await api<{ token: string }>('/auth/login', { body: { email, password }, anonymous: true });
      setToken(token);
      onSignedIn(await api<Session>('/auth/me'));
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const withKey = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setToken(key.trim());
    try {
      onSignedIn(await api<Session>('/auth/me', { anonymous: false }));
    } catch (caught) {
      setToken(null);
      setError(caught);
    }
  };

  return (
    <main className="sign-in">
      <h1>chiptrail</h1>
      <form onSubmit={withPassword} aria-labelledby="sign-in-title">
        <h2 id="sign-in-title">Sign in</h2>
        <label>
          E-mail
          <input type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required />
        </label>
        <label>
          Password
          <input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <form onSubmit={withKey} aria-labelledby="key-title">
        <h2 id="key-title">Or use an API key</h2>
        <label>
          API key
          <input type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} required />
        </label>
        <button type="submit">Use key</button>
      </form>
      <ProblemBox error={error} />
    </main>
  );
}
