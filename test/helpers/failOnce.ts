import type { TestServices } from './service';

/** A PostgreSQL restart ends the statement it cuts off with this error. */
export const ADMIN_SHUTDOWN = { message: 'terminating connection due to administrator command', sqlstate: '57P01' } as const;

export interface FailOnce {
  /** Names the trigger, its function and its sequence. */
  name: string;
  /** e.g. `BEFORE UPDATE ON images FOR EACH ROW` */
  on: string;
  /** A condition on the row (NEW), for a row trigger. */
  when?: string;
  message: string;
  sqlstate: string;
}

/**
 * The first statement (or row) a trigger sees fails once, as the server would fail it. A sequence, not a table,
 * counts: the failure rolls back what the statement wrote, but not nextval.
 */
export async function failOnce(db: TestServices['db'], f: FailOnce): Promise<void> {
  await db.$executeRawUnsafe(`
    CREATE SEQUENCE ${f.name};
    CREATE FUNCTION ${f.name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF ${f.when ? `${f.when} AND ` : ''}nextval('${f.name}') = 1 THEN
        RAISE EXCEPTION '${f.message}' USING ERRCODE = '${f.sqlstate}';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER ${f.name} ${f.on} EXECUTE FUNCTION ${f.name}();`);
}
