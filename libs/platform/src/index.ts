export * from './runtime';
export * from './runtime.module';
