/**
 * feature_flags: the generic flag store (key -> boolean plus JSON metadata). The gates read
 * 'self_evolution_enabled' and per-repository keys through getFlag.
 */
import type { Queryable } from './db.js';
import { toDate } from './rows.js';

/** A row of feature_flags. */
export interface FlagRecord {
  key: string;
  value: boolean;
  /** Free-form JSON object, e.g. {"enabledBy": "admin"}. */
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

interface FlagRow {
  key: string;
  value: boolean;
  metadata: Record<string, unknown> | null;
  created_at: Date | string;
  updated_at: Date | string;
}

/** @throws Error unless key is a non-blank string */
function checkKey(key: string): void {
  if (typeof key !== 'string' || key.trim() === '') {
    throw new Error(`feature flag key must be a non-empty string, got ${JSON.stringify(key)}`);
  }
}

/**
 * The value of flag `key`: true or false, or null when the flag is absent.
 * @throws Error for a blank key
 */
export async function getFlag(db: Queryable, key: string): Promise<boolean | null> {
  checkKey(key);
  const rows = await db.query<{ value: boolean }>('SELECT value FROM feature_flags WHERE key = $1', [key]);
  return rows[0] === undefined ? null : rows[0].value === true;
}

/**
 * The whole row of flag `key` (value, metadata, when it was created and last written), or null when absent.
 * The circuit breaker reads updated_at (evidence older than the last time a human turned the loop on does not
 * count) and metadata (who set it).
 * @throws Error for a blank key
 */
export async function getFlagRecord(db: Queryable, key: string): Promise<FlagRecord | null> {
  checkKey(key);
  const rows = await db.query<FlagRow>(
    'SELECT key, value, metadata, created_at, updated_at FROM feature_flags WHERE key = $1',
    [key],
  );
  return rows[0] === undefined ? null : toRecord(rows[0]);
}

/**
 * Creates or updates flag `key` (upsert) and sets updated_at to now. When `metadata` is given it replaces
 * the stored metadata; when omitted, existing metadata is kept (a new flag gets {}).
 * @throws Error for a blank key or a value that is not a boolean
 */
export async function setFlag(db: Queryable, key: string, value: boolean, metadata?: object): Promise<void> {
  checkKey(key);
  if (typeof value !== 'boolean') {
    throw new Error(`feature flag "${key}": value must be true or false, got ${JSON.stringify(value)}`);
  }
  await db.query(
    `INSERT INTO feature_flags (key, value, metadata)
     VALUES ($1, $2, COALESCE($3::jsonb, '{}'::jsonb))
     ON CONFLICT (key) DO UPDATE
       SET value = EXCLUDED.value,
           metadata = COALESCE($3::jsonb, feature_flags.metadata),
           updated_at = now()`,
    [key, value, metadata === undefined ? null : JSON.stringify(metadata)],
  );
}

/** Every flag, ordered by key (bytewise, independent of the database collation). */
export async function listFlags(db: Queryable): Promise<FlagRecord[]> {
  const rows = await db.query<FlagRow>(
    'SELECT key, value, metadata, created_at, updated_at FROM feature_flags ORDER BY key COLLATE "C"',
  );
  return rows.map(toRecord);
}

function toRecord(r: FlagRow): FlagRecord {
  return {
    key: r.key,
    value: r.value === true,
    metadata: r.metadata ?? {},
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}
