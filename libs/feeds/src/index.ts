export * from './feed-document';
export * from './feed-poller';
export * from './feed-scheduler';
export * from './feeds.controller';
export * from './feeds.module';
export * from './feeds.service';
export * from './feeds.worker';
export * from './inbox.service';
