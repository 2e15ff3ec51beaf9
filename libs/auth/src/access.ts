import { CanActivate, ExecutionContext, Injectable, SetMetadata, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AuthService, AuthenticationError, ForbiddenError, atLeast, type Principal, type Role } from './auth.service';

const ACCESS = 'chiptrail:access';
type AccessLevel = Role | 'public';

/** Who may call a route: `public`, or the least role (`viewer` < `curator` < `admin`). Routes without it need admin. */
export const Access = (level: AccessLevel) => SetMetadata(ACCESS, level);

type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

/** The caller, as established by AccessGuard. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new AuthenticationError('unauthenticated', 'Sign in or send an API key as a Bearer token.');
  return principal;
});

/**
 * Global guard: a bearer credential (token or API key) is required unless the route is public; 401 when it is
 * missing or wrong, 403 when its role is not enough. Deny by default: a route that says nothing needs admin.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const required = this.reflector.getAllAndOverride<AccessLevel | undefined>(ACCESS, [context.getHandler(), context.getClass()]) ?? 'admin';
    if (required === 'public') return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    if (!header) throw new AuthenticationError('unauthenticated', 'Sign in or send an API key as a Bearer token.');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new AuthenticationError('unauthenticated', 'Use the form "Authorization: Bearer <token or API key>".');
    const principal = await this.auth.authenticate(match[1] as string);
    if (!atLeast(principal.role, required)) throw new ForbiddenError(required, principal.role);
    request.principal = principal;
    return true;
  }
}
