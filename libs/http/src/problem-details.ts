import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticationError, ForbiddenError } from '@chiptrail/auth';
import { DomainError, assertNever, type FailureKind } from '@chiptrail/domain';
import { isDatabaseUnavailable, pgErrorCode } from '@chiptrail/db';
import type { Logger } from '@chiptrail/runtime';

/** RFC 9457 problem document. `code` is stable for machines; `detail` is one sentence for people. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly instance?: string;
  readonly [extension: string]: unknown;
}

export class UnavailableError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function statusOf(kind: FailureKind): number {
  switch (kind) {
    case 'validation':
      return 400;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'illegal_state':
      return 409;
    default:
      return assertNever(kind, 'failure kind');
  }
}

const VALUE_REFUSED: Record<string, string> = {
  '22001': 'A value in the request is longer than can be stored.',
  '22003': 'A number in the request is out of range.',
  '22007': 'A date or time in the request is not valid.',
  '22008': 'A date or time in the request is out of range.',
  '22021': 'Text in the request contains a character that cannot be stored.',
  '22P05': 'Text in the request contains a character that cannot be stored.',
  '54000': 'A value in the request is too large to store or index.',
};

const FASTIFY_CODES: Record<string, { status: number; code: string; detail: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large', detail: 'The request body is larger than this endpoint accepts.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', detail: 'Send the body as application/json.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'empty_body', detail: 'The request declares a JSON body but sends none.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'malformed_json', detail: 'The request body is not valid JSON.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_content_length', detail: 'Content-Length does not match the body.' },
  FST_ERR_BAD_URL: { status: 400, code: 'malformed_url', detail: 'The request URL is malformed.' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'uri_too_long', detail: 'A path segment of the request URL is too long.' },
};

/** A body larger than an endpoint takes, noticed while streaming it (Fastify's own limit covers buffered bodies). */
export class PayloadTooLargeError extends Error {}

/** Maps any error to a problem document. The single place where failures become HTTP. */
export function toProblem(error: unknown, instance: string | undefined, logger: Logger): Problem {
  const base = (status: number, code: string, detail: string, extra: Record<string, unknown> = {}): Problem => ({
    type: `https://chiptrail.dev/problems/${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    code,
    detail,
    ...(instance ? { instance } : {}),
    ...extra,
  });

  if (error instanceof DomainError) return base(statusOf(error.kind), error.code, error.message, { ...error.details });
  if (error instanceof AuthenticationError) {
    if (error.code === 'account_locked') return base(429, error.code, error.message, { retryAfter: error.retryAfterSeconds });
    return base(401, error.code, error.message);
  }
  if (error instanceof ForbiddenError) return base(403, error.code, error.message, { requiredRole: error.required });
  if (error instanceof UnavailableError) return base(503, error.code, error.message);
  if (error instanceof PayloadTooLargeError) return base(413, 'body_too_large', error.message);
  if (isDatabaseUnavailable(error)) {
    return base(503, 'database_unavailable', 'The database cannot be reached right now; retry shortly.');
  }
  // Defence in depth: values PostgreSQL refuses are the request's fault, and its statement changed nothing.
  const sqlState = pgErrorCode(error);
  if (sqlState && VALUE_REFUSED[sqlState]) return base(400, 'invalid_value', VALUE_REFUSED[sqlState]);
  const fastifyCode = (error as { code?: unknown })?.code;
  if (typeof fastifyCode === 'string' && FASTIFY_CODES[fastifyCode]) {
    const known = FASTIFY_CODES[fastifyCode];
    return base(known.status, known.code, known.detail);
  }
  if (error instanceof SyntaxError || (error as { statusCode?: number })?.statusCode === 400) {
    return base(400, 'malformed_request', 'The request could not be parsed.');
  }
  if (error instanceof ThrottlerException) {
    return base(429, 'rate_limited', 'Too many requests from this address; wait a minute and try again.');
  }
  if (error instanceof HttpException) {
    // Nest hands Fastify's own failures (body parsing, limits) over as HttpExceptions carrying the status.
    const status = error.getStatus();
    if (status === 404) return base(404, 'route_not_found', 'No such endpoint.');
    if (status === 413) return base(413, 'body_too_large', 'The request body is larger than this endpoint accepts.');
    if (status === 415) return base(415, 'unsupported_media_type', 'Send the body as application/json.');
    if (status === 400) return base(400, 'malformed_request', `The request could not be parsed: ${error.message}`);
    if (status < 500) return base(status, `http_${status}`, error.message);
  }
  const statusCode = (error as { statusCode?: number })?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return base(statusCode, `http_${statusCode}`, (error as Error).message);
  }
  logger.error(`unhandled error: ${error instanceof Error ? error.stack : String(error)}`, undefined, 'HTTP');
  return base(500, 'internal_error', 'Something went wrong on our side; the request changed nothing it reported.');
}

export function sendProblem(reply: FastifyReply, problem: Problem): void {
  if (problem.status === 401) reply.header('WWW-Authenticate', 'Bearer');
  if (typeof problem.retryAfter === 'number') reply.header('Retry-After', String(problem.retryAfter));
  if (problem.status === 503) reply.header('Retry-After', '5');
  void reply.status(problem.status).type('application/problem+json').send(problem);
}

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    sendProblem(reply, toProblem(error, request?.url?.split('?')[0], this.logger));
  }
}

/**
 * The raw HTTP answer to a request Node's parser refused before any route saw it (headers or URL too large, bad
 * framing): still a problem document, and the connection is closed.
 */
export function clientErrorResponse(error: { code?: string }): string {
  const [status, code, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers_too_large', 'The request line or headers are larger than this server accepts (16 KiB).']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'The request was not received in time.']
        : [400, 'malformed_request', 'The request could not be parsed as HTTP.'];
  const title = TITLES[status] ?? (status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request');
  const body = JSON.stringify({ type: `https://chiptrail.dev/problems/${code}`, title, status, code, detail });
  return `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
