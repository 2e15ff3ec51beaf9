export * from './event-catalog.projection';
export * from './event-queries';
export * from './events.controller';
export * from './policy.module';
export * from './import-policy-events.handler';
export * from './ndjson-import';
export * from './record-policy-event.handler';
