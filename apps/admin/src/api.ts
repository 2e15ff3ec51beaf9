/** The public API, as the admin UI uses it: bearer token from the session, problem documents as errors. */

export interface FieldProblem {
  field: string;
  message: string;
}

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly problems: FieldProblem[] = [],
  ) {
    super(detail);
  }
}

let token: string | null = sessionStorage.getItem('chiptrail.token');
let onUnauthorized: () => void = () => undefined;

export function setToken(value: string | null): void {
  token = value;
  if (value) sessionStorage.setItem('chiptrail.token', value);
  else sessionStorage.removeItem('chiptrail.token');
}

export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export async function api<T = unknown>(path: string, options: { method?: string; body?: unknown; anonymous?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const sent = !!token && !options.anonymous;
  if (sent) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`/api/v1${path}`, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const data = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) {
    const problem = (data ?? {}) as { code?: string; detail?: string; problems?: FieldProblem[] };
    if (response.status === 401 && sent) onUnauthorized();
    throw new ApiProblem(response.status, problem.code ?? `http_${response.status}`, problem.detail ?? response.statusText, problem.problems ?? []);
  }
  return data as T;
}

export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
