import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { Database } from './database';

export interface ScratchDatabase {
  readonly name: string;
  /** The admin role on the new database (migrations, tampering in tests, baselines in benchmarks). */
  readonly ownerUrl: string;
  /** A login role with the runtime grants only: what the product runs as. */
  readonly appUrl: string;
  drop(): Promise<void>;
}

const RUNTIME_LOGIN = 'chiptrail_scratch_app';

/**
 * A migrated database of its own on a server where we may create databases (tests, benchmarks), with a login role
 * that has exactly the product's runtime grants. Names carry the pid so parallel runs never meet.
 */
export async function createScratchDatabase(adminUrl: string, prefix: string): Promise<ScratchDatabase> {
  const name = `chiptrail_${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`.toLowerCase();
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const ownerUrl = withDatabase(adminUrl, name);
  const db = await Database.connect({ url: ownerUrl, poolSize: 2, applicationName: 'chiptrail-scratch-migrate', statementTimeoutMs: 0 });
  try {
    await db.runMigrations();
    await db.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${RUNTIME_LOGIN}') THEN
        CREATE ROLE ${RUNTIME_LOGIN} LOGIN IN ROLE chiptrail_runtime;
      END IF;
    END $$`);
  } finally {
    await db.close();
  }
  return {
    name,
    ownerUrl,
    appUrl: withUser(ownerUrl, RUNTIME_LOGIN),
    async drop() {
      const client = new Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function withUser(url: string, user: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = '';
  return parsed.toString();
}
