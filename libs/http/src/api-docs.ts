import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiQuery, ApiResponse, ApiBearerAuth } from '@nestjs/swagger';
import { z } from 'zod';

type JsonSchema = Record<string, unknown>;

/** The OpenAPI 3.0 form of a zod schema: the same schema validates the request and documents it. */
export function openApiSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { target: 'openapi-3.0', unrepresentable: 'any', io: 'input' }) as JsonSchema;
}

/** Documents every property of a zod object schema as a query parameter. */
export function ApiQueryFrom(schema: z.ZodObject) {
  const json = openApiSchema(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return applyDecorators(
    ...Object.entries(json.properties ?? {}).map(([name, property]) =>
      ApiQuery({
        name,
        required: (json.required ?? []).includes(name),
        schema: property as never,
        description: typeof property.description === 'string' ? property.description : undefined,
      }),
    ),
  );
}

export function ApiBodyFrom(schema: z.ZodType, description?: string) {
  return ApiBody({ schema: openApiSchema(schema) as never, description });
}

const problem = {
  type: 'object',
  required: ['type', 'title', 'status', 'code', 'detail'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string', description: 'Stable, machine-readable' },
    detail: { type: 'string', description: 'One sentence for people' },
    problems: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
  },
};

/** The problem documents (RFC 9457) a route can answer with, and the bearer requirement unless public. */
export function ApiProblems(...statuses: number[]) {
  return applyDecorators(
    ...statuses.map((status) => ApiResponse({ status, description: 'Problem details (application/problem+json)', content: { 'application/problem+json': { schema: problem as never } } })),
  );
}

export function ApiSecured() {
  return applyDecorators(ApiBearerAuth(), ApiProblems(401, 403));
}

export { ApiExtraModels };
