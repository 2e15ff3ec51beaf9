export * from './api-docs';
export * from './problem-details';
