export * from './address-guard';
export * from './safe-fetcher';
