export * from './access';
export * from './auth.controller';
export * from './auth.service';
export * from './auth.module';
export * from './signing-keys';
