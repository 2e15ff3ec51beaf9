import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '@chiptrail/auth';
import { ApiSecured } from '@chiptrail/http';
import { Database } from '@chiptrail/db';
import { logHead, verifyIntegrity, type IntegrityReport, type LogHead } from '@chiptrail/event-store';
import { Clock } from '@chiptrail/runtime';

@ApiTags('integrity')
@Controller('api/v1/integrity')
export class IntegrityController {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  @Get()
  @Access('viewer')
  @ApiSecured()
  @ApiOperation({ summary: 'Recompute the hash chain of the whole log: head (position + digest) and first broken link.' })
  verify(): Promise<IntegrityReport> {
    return verifyIntegrity(this.db, () => this.clock.now());
  }

  @Get('head')
  @Access('viewer')
  @ApiSecured()
  @ApiOperation({ summary: 'The newest event and its chained hash, without verifying (see GET /integrity for that).' })
  head(): Promise<LogHead> {
    return logHead(this.db);
  }
}
