import { Body, Controller, Delete, Get, HttpCode, Param, Post, Res, UseGuards } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { parseWith } from '@chiptrail/domain';
import { ApiBodyFrom, ApiProblems, ApiSecured } from '@chiptrail/http';
import { Access, CurrentPrincipal } from './access';
import { AuthService, type Principal } from './auth.service';

const loginBody = z.object({ email: z.string().max(320), password: z.string().max(1024) }).strict();
const apiKeyBody = z.object({ name: z.string().trim().min(1).max(100), role: z.enum(['admin', 'curator', 'viewer']) }).strict();

@ApiTags('auth')
@Controller('api/v1')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('auth/login')
  @HttpCode(200)
  @Access('public')
  @UseGuards(ThrottlerGuard)
  @ApiOperation({ summary: 'Sign in with e-mail and password; returns a bearer token that expires.' })
  @ApiBodyFrom(loginBody)
  @ApiProblems(400, 401, 429)
  login(@Body() body: unknown) {
    const { email, password } = parseWith(loginBody, body);
    return this.auth.login(email, password);
  }

  @Get('auth/me')
  @Access('viewer')
  @ApiOperation({ summary: 'Who the bearer credential belongs to, and its role.' })
  @ApiSecured()
  me(@CurrentPrincipal() principal: Principal) {
    return principal;
  }

  @Post('auth/board-session')
  @HttpCode(204)
  @Access('curator')
  @ApiOperation({
    summary:
      'Opens the queue dashboard (/admin/queues) for this browser: a short-lived, signed, HttpOnly, SameSite=Strict cookie scoped to that path. Curators get it read-only.',
  })
  @ApiSecured()
  async boardSession(@CurrentPrincipal() principal: Principal, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    const cookie = await this.auth.boardCookie(principal);
    void reply.header('set-cookie', cookie);
  }

  @Post('api-keys')
  @Access('admin')
  @ApiOperation({ summary: 'Create an API key with a role; the key is shown once and stored only as a hash.' })
  @ApiBodyFrom(apiKeyBody)
  @ApiSecured()
  @ApiProblems(400)
  createKey(@Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    const { name, role } = parseWith(apiKeyBody, body);
    return this.auth.createApiKey(name, role, principal);
  }

  @Get('api-keys')
  @Access('admin')
  @ApiOperation({ summary: 'List API keys (never the keys themselves).' })
  @ApiSecured()
  listKeys() {
    return this.auth.listApiKeys();
  }

  @Delete('api-keys/:id')
  @HttpCode(204)
  @Access('admin')
  @ApiOperation({ summary: 'Revoke an API key.' })
  @ApiSecured()
  @ApiProblems(404, 409)
  async revokeKey(@Param('id') id: string): Promise<void> {
    await this.auth.revokeApiKey(id);
  }
}
