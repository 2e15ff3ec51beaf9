import { createContext, useContext } from 'react';

export type Role = 'viewer' | 'curator' | 'admin';

export interface Session {
  readonly id: string;
  readonly role: Role;
}

const ORDER: Role[] = ['viewer', 'curator', 'admin'];

export function can(session: Session | null, role: Role): boolean {
  return !!session && ORDER.indexOf(session.role) >= ORDER.indexOf(role);
}

export const SessionContext = createContext<{ session: Session | null; signOut: () => void }>({ session: null, signOut: () => undefined });

export function useSession() {
  return useContext(SessionContext);
}
