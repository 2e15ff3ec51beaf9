import { availableParallelism } from 'node:os';
import { ConfigError, loadBenchConfig, loadConfig } from './config';

describe('loadConfig', () => {
  it('defaults to embedded PostgreSQL, BullMQ on PostgreSQL and port 3000', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, databaseUrl: undefined, redisUrl: undefined, seedDataset: true });
    expect(config.dataDir).toMatch(/\.data$/);
    expect(config.outboundAllowlist).toEqual([]);
  });

  it('takes external servers when they are configured', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/x', REDIS_URL: 'redis://cache:6379', PORT: '8080' });
    expect(config).toMatchObject({ port: 8080, databaseUrl: 'postgres://u:p@db:5432/x', redisUrl: 'redis://cache:6379' });
  });

  it.each([
    ['PORT', 'eighty', /PORT: must be a whole number/],
    ['PORT', '70000', /PORT: must be between 0 and 65535/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL: must use postgres: or postgresql:/],
    ['DATABASE_URL', 'not a url', /DATABASE_URL: is not a valid URL/],
    ['REDIS_URL', 'http://x', /REDIS_URL: must use redis: or rediss:/],
    ['SEED_DATASET', 'maybe', /SEED_DATASET: must be true or false/],
    ['OUTBOUND_ALLOWLIST', '127.0.0.1/33', /OUTBOUND_ALLOWLIST: "127.0.0.1\/33" is not an IP address or CIDR/],
    ['ADMIN_PASSWORD', 'short', /ADMIN_PASSWORD: must be at least 12 characters/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL: must be one of debug, info, warn, error/],
    ['API_PROCESSES', '0', /API_PROCESSES: must be auto \(one per core\) or a whole number between 1 and 64, got "0"/],
    ['API_PROCESSES', 'many', /API_PROCESSES: must be auto/],
  ])('stops on a bad %s with one sentence naming it', (variable, value, message) => {
    let caught: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe(variable);
    expect((caught as ConfigError).message).toMatch(message);
  });

  it('runs the api as one process unless told how many, or auto for one per core', () => {
    expect(loadConfig({}).apiProcesses).toBe(1);
    expect(loadConfig({ API_PROCESSES: '3' }).apiProcesses).toBe(3);
    expect(loadConfig({ API_PROCESSES: 'AUTO' }).apiProcesses).toBe(availableParallelism());
  });

  it('parses the outbound allowlist into addresses and prefixes', () => {
    expect(loadConfig({ OUTBOUND_ALLOWLIST: '127.0.0.1/32, ::1, 10.0.0.0/8' }).outboundAllowlist).toEqual([
      { address: '127.0.0.1', prefix: 32, family: 4 },
      { address: '::1', prefix: 128, family: 6 },
      { address: '10.0.0.0', prefix: 8, family: 4 },
    ]);
  });
});

describe('loadBenchConfig', () => {
  it('runs each suite its own number of rounds unless BENCH_REPETITIONS says otherwise', () => {
    expect(loadBenchConfig({})).toMatchObject({ quick: false, only: [], repetitions: null });
    expect(loadBenchConfig({ BENCH_QUICK: '1', BENCH_ONLY: 'import, read', BENCH_REPETITIONS: '1' })).toMatchObject({ quick: true, only: ['import', 'read'], repetitions: 1 });
    expect(() => loadBenchConfig({ BENCH_REPETITIONS: '0' })).toThrow(/BENCH_REPETITIONS: must be between 1 and 20/);
  });
});
