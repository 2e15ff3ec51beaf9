export * from './chip-knowledge';
export * from './policy.projection';
export * from './status.controller';
export * from './status.module';
export * from './status.queries';
export * from './status-cache';
