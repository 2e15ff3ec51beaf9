import type { z } from 'zod';
import { ValidationError, type FieldProblem } from './errors';

/** Zod issues as field problems with dotted paths (`data.destinations.2`). */
export function zodProblems(error: z.ZodError, prefix = ''): FieldProblem[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((part) => part !== '').join('.');
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`
        : issue.code === 'invalid_type' && issue.input === undefined
          ? path === '' || path === prefix
            ? 'a JSON body is required'
            : 'is required'
          : issue.message;
    return { field: path || '(body)', message };
  });
}

/** Parses `input` with `schema` or throws a ValidationError naming the first offending field (and listing all). */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, prefix = '', code = 'invalid_field'): z.output<S> {
  // Zod leaves its compiled fast path when asked to report inputs, so that is asked only to explain a refusal.
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const problems = zodProblems(result.error, prefix);
  const firstProblem = problems[0] as FieldProblem;
  throw new ValidationError(code, `${firstProblem.field}: ${firstProblem.message}`, problems);
}
