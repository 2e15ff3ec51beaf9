import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { NotFoundError } from '@chiptrail/domain';
import { ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Access, CurrentPrincipal, type Principal } from '@chiptrail/auth';
import { ApiBodyFrom, ApiProblems, ApiQueryFrom, ApiSecured } from '@chiptrail/http';
import { DeliveriesQueries, deliveriesQuery } from './deliveries.queries';
import { Mailer } from './mailer';
import { SubscriptionsService, createSubscriptionBody, recoverBody } from './subscriptions.service';

const idParam = ApiParam({ name: 'id', schema: { type: 'string', format: 'uuid' } });
const tokenQuery = ApiQuery({ name: 'token', required: true, schema: { type: 'string' } });

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${esc(title)}</title></head>` +
  `<body style="font-family: sans-serif; max-width: 32em; margin: 3em auto"><h1>${esc(title)}</h1>${body}</body></html>`;
const tokenOf = (query: Record<string, unknown>, body: unknown) =>
  (typeof query.token === 'string' ? query.token : undefined) ?? (body && typeof (body as { token?: unknown }).token === 'string' ? (body as { token: string }).token : undefined);

@ApiTags('alerts')
@Controller('api/v1/subscriptions')
export class SubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  @Post()
  @Access('viewer')
  @ApiOperation({
    summary:
      'Subscribe by e-mail (double opt-in: pending until confirmed) or webhook (https; answers with a whsec_ secret, shown once). Filters default to status changes of anything.',
  })
  @ApiBodyFrom(createSubscriptionBody)
  @ApiSecured()
  @ApiProblems(400)
  create(@Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    return this.subscriptions.create(body, principal);
  }

  @Get()
  @Access('viewer')
  @ApiOperation({ summary: 'Your subscriptions (all of them, for admins).' })
  @ApiSecured()
  list(@CurrentPrincipal() principal: Principal) {
    return this.subscriptions.list(principal);
  }

  @Get('confirm')
  @Access('public')
  @ApiOperation({ summary: 'The confirmation page of an e-mail link: shows a button; opening the link confirms nothing.' })
  @tokenQuery
  confirmPage(@Query() query: Record<string, unknown>, @Res() reply: FastifyReply): void {
    const token = esc(String(query.token ?? ''));
    void reply
      .type('text/html; charset=utf-8')
      .send(page('Confirm your subscription', `<p>Press the button to start receiving chiptrail alerts at this address.</p><form method="post"><input type="hidden" name="token" value="${token}"><button type="submit">Confirm</button></form>`));
  }

  @Post('confirm')
  @HttpCode(200)
  @Access('public')
  @ApiOperation({ summary: 'Confirm an e-mail subscription with the signed token from the link (valid 7 days).' })
  @ApiProblems(400, 404)
  async confirm(@Query() query: Record<string, unknown>, @Body() body: unknown, @Headers('accept') accept: string | undefined, @Res() reply: FastifyReply) {
    const result = await this.subscriptions.confirm(tokenOf(query, body));
    if (accept?.includes('application/json')) return void reply.send(result);
    void reply.type('text/html; charset=utf-8').send(page('Subscription confirmed', '<p>You will receive chiptrail alerts at this address.</p>'));
  }

  @Get('unsubscribe')
  @Access('public')
  @ApiOperation({ summary: 'The unsubscribe page of an e-mail link: shows a button; a GET never unsubscribes.' })
  @tokenQuery
  unsubscribePage(@Query() query: Record<string, unknown>, @Res() reply: FastifyReply): void {
    const token = esc(String(query.token ?? ''));
    void reply
      .type('text/html; charset=utf-8')
      .send(page('Unsubscribe', `<p>Press the button to stop these alerts.</p><form method="post"><input type="hidden" name="token" value="${token}"><button type="submit">Unsubscribe</button></form>`));
  }

  @Post('unsubscribe')
  @HttpCode(200)
  @Access('public')
  @ApiOperation({ summary: 'One-click unsubscribe (RFC 8058: POST with List-Unsubscribe=One-Click), token in the query or the body.' })
  @ApiProblems(400, 404)
  async unsubscribe(@Query() query: Record<string, unknown>, @Body() body: unknown, @Headers('accept') accept: string | undefined, @Res() reply: FastifyReply) {
    const result = await this.subscriptions.unsubscribe(tokenOf(query, body));
    if (accept?.includes('application/json')) return void reply.send({ unsubscribed: true, ...result });
    void reply.type('text/html; charset=utf-8').send(page('Unsubscribed', `<p>No more alerts will be sent to ${esc(result.target)}.</p>`));
  }

  @Get(':id')
  @Access('viewer')
  @ApiOperation({ summary: 'One subscription.' })
  @idParam
  @ApiSecured()
  @ApiProblems(400, 404)
  get(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    return this.subscriptions.get(id, principal);
  }

  @Post(':id/pause')
  @HttpCode(200)
  @Access('viewer')
  @ApiOperation({ summary: 'Pause: nothing is sent until resumed.' })
  @idParam
  @ApiSecured()
  @ApiProblems(400, 404, 409)
  pause(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    return this.subscriptions.pause(id, principal);
  }

  @Post(':id/resume')
  @HttpCode(200)
  @Access('viewer')
  @ApiOperation({ summary: 'Resume a paused subscription, or re-enable an endpoint disabled for failing.' })
  @idParam
  @ApiSecured()
  @ApiProblems(400, 404, 409)
  resume(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    return this.subscriptions.resume(id, principal);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @Access('viewer')
  @ApiOperation({ summary: 'A new webhook secret, shown once; the old one keeps signing alongside it for 24 hours.' })
  @idParam
  @ApiSecured()
  @ApiProblems(400, 404, 409)
  rotate(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    return this.subscriptions.rotateSecret(id, principal);
  }

  @Post(':id/recover')
  @HttpCode(200)
  @Access('viewer')
  @ApiOperation({ summary: 'Re-send every delivery that failed since a time.' })
  @idParam
  @ApiBodyFrom(recoverBody)
  @ApiSecured()
  @ApiProblems(400, 404)
  recover(@Param('id') id: string, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    return this.subscriptions.recover(id, body, principal);
  }

  @Delete(':id')
  @HttpCode(204)
  @Access('viewer')
  @ApiOperation({ summary: 'Delete a subscription.' })
  @idParam
  @ApiSecured()
  @ApiProblems(400, 404)
  async remove(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<void> {
    await this.subscriptions.remove(id, principal);
  }
}

@ApiTags('alerts')
@Controller('api/v1/deliveries')
export class DeliveriesController {
  constructor(private readonly deliveries: DeliveriesQueries) {}

  @Get()
  @Access('viewer')
  @ApiOperation({ summary: 'The delivery log: every alert, its status and every attempt (time, status code, latency, error).' })
  @ApiQueryFrom(deliveriesQuery)
  @ApiSecured()
  @ApiProblems(400)
  list(@Query() query: unknown, @CurrentPrincipal() principal: Principal) {
    return this.deliveries.list(query, principal);
  }

  @Get(':id')
  @Access('viewer')
  @ApiOperation({ summary: 'One delivery with its attempts.' })
  @idParam
  @ApiSecured()
  @ApiProblems(400, 404)
  get(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    return this.deliveries.get(id, principal);
  }

  @Post(':id/retry')
  @HttpCode(200)
  @Access('viewer')
  @ApiOperation({ summary: 'Send a failed delivery again now.' })
  @idParam
  @ApiSecured()
  @ApiProblems(400, 404, 409)
  retry(@Param('id') id: string, @CurrentPrincipal() principal: Principal) {
    return this.deliveries.retry(id, principal);
  }
}

@ApiTags('alerts')
@Controller('api/v1/admin/mail')
export class MailController {
  constructor(private readonly mailer: Mailer) {}

  @Get()
  @Access('admin')
  @ApiOperation({ summary: 'With no SMTP configured, the e-mails written as .eml files under DATA_DIR/mail, newest first.' })
  @ApiSecured()
  async list() {
    return { mode: this.mailer.mode, directory: this.mailer.mode === 'files' ? this.mailer.directory : null, items: await this.mailer.list() };
  }

  @Get(':name')
  @Access('admin')
  @ApiOperation({ summary: 'One written e-mail (message/rfc822).' })
  @ApiParam({ name: 'name', schema: { type: 'string' } })
  @ApiSecured()
  @ApiProblems(404)
  async read(@Param('name') name: string, @Res() reply: FastifyReply): Promise<void> {
    const content = await this.mailer.read(name);
    if (!content) throw new NotFoundError('mail_not_found', `No written e-mail ${name}.`);
    void reply.type('message/rfc822').send(content);
  }
}
