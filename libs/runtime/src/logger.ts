import type { LoggerService } from '@nestjs/common';

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * One JSON line per message on stdout/stderr. Secrets never reach it: callers log identifiers, not credentials,
 * and `redact` masks anything that looks like a bearer token, API key or password in free text.
 */
export class Logger implements LoggerService {
  constructor(
    private readonly level: Level = 'info',
    private readonly sink: (line: string, isError: boolean) => void = (line, isError) =>
      (isError ? process.stderr : process.stdout).write(`${line}\n`),
  ) {}

  log(message: unknown, context?: string): void {
    this.write('info', message, context);
  }
  info(message: unknown, context?: string): void {
    this.write('info', message, context);
  }
  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.write('error', message, context, trace);
  }
  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }

  private write(level: Level, message: unknown, context?: string, trace?: string): void {
    if (ORDER[level] < ORDER[this.level]) return;
    const text = message instanceof Error ? message.message : typeof message === 'string' ? message : JSON.stringify(message);
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level, msg: redact(text) };
    if (context) entry.context = context;
    if (trace) entry.trace = redact(trace);
    this.sink(JSON.stringify(entry), level === 'error' || level === 'warn');
  }
}

const SECRET_PATTERNS: readonly RegExp[] = [
  /(bearer\s+)[A-Za-z0-9._~+/=-]+/gi,
  /\bct_(?:key|tok)_[A-Za-z0-9_-]+/g,
  /\bwhsec_[A-Za-z0-9+/=]+/g,
  /("?(?:password|secret|token|apiKey|api_key)"?\s*[:=]\s*)"[^"]*"/gi,
  /(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/gi,
  /(redis:\/\/[^:/\s]*:)[^@\s]+@/gi,
  // Link tokens in query strings (confirm, unsubscribe) and anything else named like a credential.
  /([?&](?:token|key|secret|password|signature|api_key)=)[^&\s"]+/gi,
];

export function redact(text: string): string {
  return SECRET_PATTERNS.reduce(
    (acc, pattern) =>
      acc.replace(pattern, (...args: unknown[]) => `${typeof args[1] === 'string' ? args[1] : ''}[redacted]`),
    text,
  );
}
