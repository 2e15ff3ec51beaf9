/**
 * The small vocabulary of failures every layer speaks. The HTTP edge maps each kind to one status code, once.
 * `code` is stable and machine-readable; `message` is one human sentence.
 */
export type FailureKind = 'validation' | 'not_found' | 'conflict' | 'illegal_state';

export abstract class DomainError extends Error {
  abstract readonly kind: FailureKind;
  constructor(
    readonly code: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export interface FieldProblem {
  /** JSON-pointer-like path of the offending field, e.g. `data.destinations.2`. */
  readonly field: string;
  readonly message: string;
}

export class ValidationError extends DomainError {
  readonly kind = 'validation' as const;
  constructor(code: string, message: string, readonly problems: readonly FieldProblem[] = []) {
    super(code, message, { problems });
  }

  static field(field: string, message: string, code = 'invalid_field'): ValidationError {
    return new ValidationError(code, `${field}: ${message}`, [{ field, message }]);
  }
}

export class NotFoundError extends DomainError {
  readonly kind = 'not_found' as const;
}

export class ConflictError extends DomainError {
  readonly kind = 'conflict' as const;
}

export class IllegalStateError extends DomainError {
  readonly kind = 'illegal_state' as const;
}

export function assertNever(value: never, context = 'value'): never {
  throw new Error(`Unhandled ${context}: ${JSON.stringify(value)}`);
}
