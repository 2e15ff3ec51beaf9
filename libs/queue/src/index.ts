export * from './queue-backend';
