import * as path from 'node:path';
import { defineConfig } from 'vite';

// The admin UI: React, built to static files that the api serves at /admin. It shares the domain's validation.
export default defineConfig({
  root: __dirname,
  base: '/admin/',
  resolve: { alias: { '@chiptrail/domain': path.resolve(__dirname, '../../libs/domain/src') } },
  esbuild: { jsx: 'automatic' },
  // `npx vite --config apps/admin/vite.config.ts` for hot reload against the api `npm start` runs.
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
  build: {
    outDir: path.resolve(__dirname, '../../dist/admin'),
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1000,
    rollupOptions: {
      // zod ships comments Rollup cannot place; they are harmless and would bury real warnings.
      onwarn(warning, warn) {
        if (warning.code !== 'INVALID_ANNOTATION') warn(warning);
      },
    },
  },
  logLevel: 'warn',
});
