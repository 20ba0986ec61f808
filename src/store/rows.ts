/**
 * Reading the rows the database returns: the one place that turns a timestamp column into a Date. A driver
 * hands a timestamp back as a Date (node-postgres) or as text (some PGlite setups); both become a Date here.
 */

/** A timestamp column as the driver returned it. */
export type Timestamp = Date | string;

/** A timestamp column as a Date. */
export function toDate(value: Timestamp): Date {
  return value instanceof Date ? value : new Date(value);
}

/** A nullable timestamp column as a Date, or null. */
export function dateOrNull(value: Timestamp | null | undefined): Date | null {
  return value === null || value === undefined ? null : toDate(value);
}
