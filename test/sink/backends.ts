/**
 * Fresh sink databases for tests: a SQLite file per call, and with TKGW_TEST_PG a PostgreSQL
 * database per call (created on that server, dropped by `cleanup`).
 */
import { join } from 'node:path';
import { openSinkDb, type SinkDb } from '../../src/sink/db.js';
import { tempDir } from '../helpers/tmp.js';

export interface TestBackend {
  name: 'sqlite' | 'postgres';
  /** a new empty database: its URL */
  fresh(): Promise<string>;
  open(url: string): Promise<SinkDb>;
  /** runs SQL directly (for preparing old schemas); `?` placeholders on SQLite, `$n` on PostgreSQL */
  exec(url: string, sql: string): Promise<void>;
  cleanup(): Promise<void>;
}

export function testBackends(): TestBackend[] {
  const t = tempDir('tkgw-sinkdb-');
  let n = 0;
  const list: TestBackend[] = [
    {
      name: 'sqlite',
      fresh: async () => `sqlite:${join(t.dir, `s${n++}.db`)}`,
      open: (url) => openSinkDb(url),
      exec: async (url, sql) => {
        const { default: Database } = await import('better-sqlite3');
        const db = new Database(url.slice('sqlite:'.length));
        db.exec(sql);
        db.close();
      },
      cleanup: async () => t.cleanup(),
    },
  ];
  const pgUrl = process.env['TKGW_TEST_PG'];
  if (pgUrl) {
    const created: string[] = [];
    const admin = async <T>(f: (c: import('pg').Client) => Promise<T>): Promise<T> => {
      const { default: pg } = await import('pg');
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      try {
        return await f(c);
      } finally {
        await c.end();
      }
    };
    list.push({
      name: 'postgres',
      fresh: async () => {
        const name = `tkgw_sinkdb_${process.pid}_${n++}`;
        await admin(async (c) => {
          await c.query(`DROP DATABASE IF EXISTS ${name}`);
          await c.query(`CREATE DATABASE ${name}`);
        });
        created.push(name);
        return pgUrl.replace(/\/[^/]*$/, `/${name}`);
      },
      open: (url) => openSinkDb(url),
      exec: async (url, sql) => {
        const { default: pg } = await import('pg');
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        try {
          await c.query(sql);
        } finally {
          await c.end();
        }
      },
      cleanup: () =>
        admin(async (c) => {
          for (const name of created) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        }),
    });
  }
  return list;
}
