export * from './append-notifier';
export * from './event-store';
export * from './integrity';
