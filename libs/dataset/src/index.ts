export * from './dataset-seeder';
