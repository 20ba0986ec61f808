/** self_evolution_reflections: what a run observed (insights and signals) before proposing anything. */
import type { Queryable } from './db.js';
import { toDate } from './rows.js';

/** A row of self_evolution_reflections. */
export interface ReflectionRecord {
  id: number;
  runId: number;
  /** Human-readable observations. */
  insights: string;
  /** Sentiment data (JSON), or null when none was recorded. */
  sentiment: unknown;
  /** The signals the insights came from (JSON object). */
  signals: Record<string, unknown>;
  createdAt: Date;
}

interface ReflectionRow {
  id: number;
  run_id: number;
  insights: string;
  sentiment: unknown;
  signals: Record<string, unknown> | null;
  created_at: Date | string;
}

/**
 * Stores the reflection of run `runId`.
 * @param reflection.insights text, may be multi-line
 * @param reflection.signals a JSON-serializable object (bigints are stored as strings)
 * @returns the new reflection's id
 * @throws the driver's error, e.g. 23503 when no run has id `runId`
 */
export async function insertReflection(
  db: Queryable,
  runId: number,
  reflection: { insights: string; signals: object; sentiment?: unknown },
): Promise<number> {
  const json = (v: unknown): string =>
    JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  const rows = await db.query<{ id: number }>(
    `INSERT INTO self_evolution_reflections (run_id, insights, signals, sentiment)
     VALUES ($1, $2, $3::jsonb, $4::jsonb)
     RETURNING id`,
    [
      runId,
      reflection.insights,
      json(reflection.signals ?? {}),
      reflection.sentiment === undefined ? null : json(reflection.sentiment),
    ],
  );
  return Number(rows[0]!.id);
}

/** The reflections of run `runId`, oldest first (usually one). */
export async function listReflections(db: Queryable, runId: number): Promise<ReflectionRecord[]> {
  const rows = await db.query<ReflectionRow>(
    `SELECT id, run_id, insights, sentiment, signals, created_at
     FROM self_evolution_reflections WHERE run_id = $1 ORDER BY id`,
    [runId],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    runId: Number(r.run_id),
    insights: r.insights,
    sentiment: r.sentiment,
    signals: r.signals ?? {},
    createdAt: toDate(r.created_at),
  }));
}
