import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '@chiptrail/auth';
import type { FastifyReply } from 'fastify';
import { HealthCheck } from './health-check';
import { sendProblem } from '@chiptrail/http';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(private readonly health: HealthCheck) {}

  @Get('health')
  @Access('public')
  @ApiOperation({ summary: 'Database, queue backend and projection health; 503 naming what is down.' })
  async check(@Res() reply: FastifyReply): Promise<void> {
    const report = await this.health.run();
    if (report.state === 'down') {
      sendProblem(reply, {
        type: 'https://chiptrail.dev/problems/service_unavailable',
        title: 'Service Unavailable',
        status: 503,
        code: 'service_unavailable',
        detail: `Down: ${report.down.join(', ')}.`,
        ...report,
      });
      return;
    }
    void reply.status(200).send(report);
  }
}
