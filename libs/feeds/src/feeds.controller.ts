import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Access, CurrentPrincipal, type Principal } from '@chiptrail/auth';
import { ApiBodyFrom, ApiProblems, ApiQueryFrom, ApiSecured } from '@chiptrail/http';
import { FeedsService, createFeedBody, updateFeedBody } from './feeds.service';
import { InboxService, approveBody, inboxQuery, rejectBody } from './inbox.service';

const idParam = ApiParam({ name: 'id', schema: { type: 'string', format: 'uuid' } });

@ApiTags('feeds')
@Controller('api/v1/feeds')
export class FeedsController {
  constructor(private readonly feeds: FeedsService) {}

  @Post()
  @Access('admin')
  @ApiOperation({ summary: 'Add a feed (RSS 2.0, RSS 1.0/RDF, Atom, or the Federal Register documents API); polling starts.' })
  @ApiBodyFrom(createFeedBody)
  @ApiSecured()
  @ApiProblems(400)
  create(@Body() body: unknown) {
    return this.feeds.create(body);
  }

  @Get()
  @Access('curator')
  @ApiOperation({ summary: 'Feeds with their health and item counts.' })
  @ApiSecured()
  list() {
    return this.feeds.list();
  }

  @Get(':id')
  @Access('curator')
  @ApiOperation({ summary: 'A feed: health (last fetch, status, error, consecutive errors, next poll), item counts, recent fetches.' })
  @idParam
  @ApiSecured()
  @ApiProblems(400, 404)
  get(@Param('id') id: string) {
    return this.feeds.detail(id);
  }

  @Patch(':id')
  @Access('admin')
  @ApiOperation({ summary: 'Change a feed (url, name, kind, default authority, poll interval, enabled).' })
  @idParam
  @ApiBodyFrom(updateFeedBody)
  @ApiSecured()
  @ApiProblems(400, 404)
  update(@Param('id') id: string, @Body() body: unknown) {
    return this.feeds.update(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @Access('admin')
  @ApiOperation({ summary: 'Retire a feed: polling stops; its items and the events approved from them stay.' })
  @idParam
  @ApiSecured()
  @ApiProblems(400, 404)
  async remove(@Param('id') id: string): Promise<void> {
    await this.feeds.remove(id);
  }

  @Post(':id/poll')
  @HttpCode(200)
  @Access('curator')
  @ApiOperation({ summary: 'Poll the feed now and answer with what happened.' })
  @idParam
  @ApiSecured()
  @ApiProblems(400, 404)
  poll(@Param('id') id: string) {
    return this.feeds.pollNow(id);
  }
}

@ApiTags('inbox')
@Controller('api/v1/inbox')
export class InboxController {
  constructor(private readonly inbox: InboxService) {}

  @Get()
  @Access('curator')
  @ApiOperation({ summary: 'Proposed events from feeds, newest first, with evidence and confidence. Irrelevant items only on request.' })
  @ApiQueryFrom(inboxQuery)
  @ApiSecured()
  @ApiProblems(400)
  list(@Query() query: unknown) {
    return this.inbox.list(query);
  }

  @Get('counts')
  @Access('curator')
  @ApiOperation({ summary: 'Item counts per feed and status.' })
  @ApiSecured()
  counts() {
    return this.inbox.counts();
  }

  @Get(':id')
  @Access('curator')
  @ApiOperation({ summary: 'One inbox item.' })
  @idParam
  @ApiSecured()
  @ApiProblems(400, 404)
  get(@Param('id') id: string) {
    return this.inbox.get(id);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @Access('curator')
  @ApiOperation({ summary: 'Append the proposed event (or the edited one sent as the body) with the item as its source. Approving twice appends once.' })
  @idParam
  @ApiBodyFrom(approveBody, 'Optional: an edited event (type, data, effectiveAt); the source is always the item.')
  @ApiSecured()
  @ApiProblems(400, 404, 409)
  approve(@Param('id') id: string, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    return this.inbox.approve(id, body, principal.id);
  }

  @Post(':id/reject')
  @HttpCode(200)
  @Access('curator')
  @ApiOperation({ summary: 'Reject an item with a reason.' })
  @idParam
  @ApiBodyFrom(rejectBody)
  @ApiSecured()
  @ApiProblems(400, 404, 409)
  reject(@Param('id') id: string, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    return this.inbox.reject(id, body, principal.id);
  }
}
