/**
 * npm run keys -- create --name NAME (--owner OWNER --scopes search[,ingest] | --operator --scopes search,ingest,admin,worker)
 * npm run keys -- list
 * npm run keys -- revoke <id|prefix>
 *
 * Uses the service's configuration (DATABASE_URL or the local cluster under DATA_DIR).
 */
import { parseArgs } from 'node:util';
import { ApiKeyService, operatorScopesOfTenant } from '../auth/apiKeys';
import { SCOPES, TENANT_SCOPES, type Scope } from '../auth/principal';
import { loadConfig } from '../config/env';
import { openDatabase } from './services';
import { runMain } from './runMain';

const USAGE =
  'usage: npm run keys -- create --name NAME (--owner OWNER --scopes search,ingest | --operator --scopes search,ingest,admin,worker) | list | revoke <id|prefix>';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      owner: { type: 'string' },
      operator: { type: 'boolean', default: false },
      scopes: { type: 'string', default: 'search' },
    },
  });
  const [command, arg] = positionals;
  const scopes = values.scopes.split(',').map((s) => s.trim()) as Scope[];
  const problem = command === 'create' ? createProblem(values, scopes) : null;
  if (problem) {
    console.error(`${problem}\n${USAGE}`);
    return 2;
  }
  if (!['create', 'list', 'revoke'].includes(command ?? '') || (command === 'revoke' && !arg)) {
    console.error(USAGE);
    return 2;
  }
  const database = await openDatabase(loadConfig());
  try {
    const keys = new ApiKeyService(database.repos.apiKeys);
    if (command === 'create') {
      const created = await keys.create(values.name!, values.operator ? null : values.owner!, scopes);
      console.log(JSON.stringify({ ...created, note: 'store the key now: it is not shown again' }));
    } else if (command === 'list') {
      for (const k of await keys.list()) console.log(JSON.stringify(k));
    } else {
      const n = await keys.revoke(arg!);
      console.log(JSON.stringify({ revoked: n }));
      if (n === 0) return 1;
    }
    return 0;
  } finally {
    await database.close();
  }
}

/** What is wrong with a create command, said before anything is written. */
function createProblem(values: { name?: string; owner?: string; operator: boolean }, scopes: readonly string[]): string | null {
  if (!values.name) return 'a key needs --name';
  if (values.operator === Boolean(values.owner)) return 'a key belongs to one --owner, or is an --operator key: give exactly one';
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length) return `unknown scope ${unknown.join(', ')}; the scopes are ${SCOPES.join(', ')}`;
  const operatorOnly = operatorScopesOfTenant(values.owner ?? null, scopes);
  return operatorOnly.length
    ? `${operatorOnly.join(', ')}: operator powers, for --operator keys only; a key of an owner holds ${TENANT_SCOPES.join(', ')}`
    : null;
}

runMain(main);
