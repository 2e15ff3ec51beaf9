import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Access } from '@chiptrail/auth';
import { Database } from '@chiptrail/db';
import { ApiSecured } from '@chiptrail/http';
import { HealthCheck, type HealthReport } from './health-check';

@ApiTags('health')
@Controller()
export class MetricsController {
  constructor(
    private readonly health: HealthCheck,
    private readonly db: Database,
  ) {}

  @Get('metrics')
  @Access('viewer')
  @ApiOperation({ summary: 'Prometheus metrics: projection lag and stalls, open transactions, backends up, log size, deliveries by status.' })
  @ApiSecured()
  async metrics(@Res() reply: FastifyReply): Promise<void> {
    const report = await this.health.run();
    const counts = report.database.up ? await this.counts().catch(() => null) : null;
    void reply.type('text/plain; version=0.0.4; charset=utf-8').send(renderMetrics(report, counts));
  }

  private async counts(): Promise<{ events: number; deliveries: Array<{ status: string; n: number }> }> {
    const [events, deliveries] = await Promise.all([
      this.db.query<{ n: string | null }>(`SELECT max(global_position) AS n FROM events`),
      this.db.query<{ status: string; n: string }>(`SELECT status, count(*) AS n FROM deliveries GROUP BY status ORDER BY status`),
    ]);
    return { events: Number(events.rows[0]?.n ?? 0), deliveries: deliveries.rows.map((row) => ({ status: row.status, n: Number(row.n) })) };
  }
}

/** The Prometheus text exposition format. */
export function renderMetrics(report: HealthReport, counts: { events: number; deliveries: Array<{ status: string; n: number }> } | null): string {
  const now = Date.parse(report.checkedAt);
  const lines: string[] = [];
  const metric = (name: string, help: string, type: 'gauge' | 'counter', samples: Array<[Record<string, string>, number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const rendered = Object.entries(labels).map(([key, label]) => `${key}="${label.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`);
      lines.push(`${name}${rendered.length > 0 ? `{${rendered.join(',')}}` : ''} ${value}`);
    }
  };
  metric('chiptrail_database_up', 'Whether PostgreSQL answered the health query.', 'gauge', [[{}, report.database.up ? 1 : 0]]);
  metric('chiptrail_queue_up', 'Whether the queue backend answered.', 'gauge', [[{ backend: report.queue.backend }, report.queue.up ? 1 : 0]]);
  metric('chiptrail_projection_lag_events', 'Events committed but not yet applied by the projection (capped at 100000).', 'gauge', report.projections.map((p) => [{ projection: p.name }, p.lag]));
  metric('chiptrail_projection_stalled', '1 when the projection has events to read but has not moved for 30 s.', 'gauge', report.projections.map((p) => [{ projection: p.name }, p.stalled ? 1 : 0]));
  metric('chiptrail_projection_checkpoint_age_seconds', 'Seconds since the projection last moved its checkpoint.', 'gauge', report.projections.map((p) => [{ projection: p.name }, Math.max(0, (now - Date.parse(p.updatedAt)) / 1000)]));
  metric('chiptrail_oldest_open_transaction_seconds', 'Age of the oldest open writing transaction (projections cannot read past it).', 'gauge', [[{}, report.oldestOpenTransactionSeconds ?? 0]]);
  if (counts) {
    metric('chiptrail_events_total', 'Global position of the newest event in the log.', 'counter', [[{}, counts.events]]);
    metric('chiptrail_deliveries', 'Alert deliveries by status.', 'gauge', counts.deliveries.map((d) => [{ status: d.status }, d.n]));
  }
  return `${lines.join('\n')}\n`;
}
