import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Access } from '@chiptrail/auth';
import { ApiBodyFrom, ApiProblems, ApiQueryFrom, ApiSecured } from '@chiptrail/http';
import { StatusQueries, checkBody, csvQuery, listChipsQuery, statusQuery, timelineQuery } from './status.queries';

const chipParam = ApiParam({ name: 'chip', description: 'Chip slug, e.g. nvidia-h20', schema: { type: 'string', pattern: '^[a-z0-9]+(-[a-z0-9]+)*$' } });

@ApiTags('compliance')
@Controller('api/v1')
export class StatusController {
  constructor(private readonly queries: StatusQueries) {}

  @Get('chips')
  @Access('viewer')
  @ApiOperation({ summary: 'Registered chips with their classification; with ?destination=, their current status there.' })
  @ApiQueryFrom(listChipsQuery)
  @ApiSecured()
  @ApiProblems(400)
  list(@Query() query: unknown) {
    return this.queries.list(query);
  }

  @Get('chips/:chip')
  @Access('viewer')
  @ApiOperation({ summary: 'One chip: specs, derived TPP, performance density and ECCN band.' })
  @chipParam
  @ApiSecured()
  @ApiProblems(400, 404)
  chip(@Param('chip') chip: string) {
    return this.queries.chip(chip);
  }

  @Get('chips/:chip/status')
  @Access('viewer')
  @ApiOperation({
    summary: 'Export and import status of a chip for a destination at valid time asOf, as known at knownAt, with the events it stands on.',
  })
  @chipParam
  @ApiQueryFrom(statusQuery)
  @ApiSecured()
  @ApiProblems(400, 404)
  async status(@Param('chip') chip: string, @Query() query: unknown, @Res() reply: FastifyReply): Promise<void> {
    // Already JSON: the hot path sends the cached text as it is.
    void reply.type('application/json; charset=utf-8').send(await this.queries.statusJson(chip, query));
  }

  @Get('chips/:chip/timeline')
  @Access('viewer')
  @ApiOperation({ summary: 'The events concerning a chip and its status intervals per destination, as known at knownAt.' })
  @chipParam
  @ApiQueryFrom(timelineQuery)
  @ApiSecured()
  @ApiProblems(400, 404)
  timeline(@Param('chip') chip: string, @Query() query: unknown) {
    return this.queries.timeline(chip, query);
  }

  @Post('status/check')
  @HttpCode(200)
  @Access('viewer')
  @ApiOperation({ summary: 'Bulk status check: up to 1,000 (chip, destination) pairs; unknown chips answer with an error entry.' })
  @ApiBodyFrom(checkBody)
  @ApiSecured()
  @ApiProblems(400)
  check(@Body() body: unknown) {
    return this.queries.check(body);
  }

  @Get('status.csv')
  @Access('viewer')
  @ApiOperation({ summary: 'Status of every chip for one destination as CSV.' })
  @ApiQueryFrom(csvQuery)
  @ApiSecured()
  @ApiProblems(400)
  async csv(@Query() query: unknown, @Res() reply: FastifyReply): Promise<void> {
    const body = await this.queries.csv(query);
    void reply.type('text/csv; charset=utf-8').header('Content-Disposition', 'attachment; filename="chip-status.csv"').send(body);
  }
}
