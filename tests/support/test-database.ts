import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { loadTestConfig } from '@chiptrail/config';
import { Database } from '@chiptrail/db';

export interface TestDatabase {
  readonly name: string;
  /** Superuser connection to the test database (migrations, tampering in tests). */
  readonly ownerUrl: string;
  /** A login role with the runtime grants only: what the product runs as. */
  readonly appUrl: string;
  drop(): Promise<void>;
}

const RUNTIME_LOGIN = 'chiptrail_test_app';

/**
 * A database of the test's own on the local server, migrated, dropped again by `drop()`. Names carry the pid so
 * parallel runs never meet; leftovers of crashed runs older than a day are removed on the way.
 */
export async function createTestDatabase(prefix = 'ct'): Promise<TestDatabase> {
  const { adminDatabaseUrl } = loadTestConfig();
  const name = `chiptrail_test_${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`.toLowerCase();
  const admin = new Client({ connectionString: adminDatabaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const ownerUrl = withDatabase(adminDatabaseUrl, name);
  const db = await Database.connect({ url: ownerUrl, poolSize: 2, applicationName: 'chiptrail-test-migrate', statementTimeoutMs: 0 });
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
  const appUrl = withUser(ownerUrl, RUNTIME_LOGIN);
  return {
    name,
    ownerUrl,
    appUrl,
    async drop() {
      const client = new Client({ connectionString: adminDatabaseUrl });
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
