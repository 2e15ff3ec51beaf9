export * from './database';
export * from './embedded-postgres';
export * from './pg-errors';
export * from './scratch-database';
export * from './copy';
