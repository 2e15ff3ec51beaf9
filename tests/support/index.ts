export * from './test-database';
export * from './test-app';
export * from './processes';
export * from './http-fixtures';
export * from './smtp';
export * from './redis-process';
