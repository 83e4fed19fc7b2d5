import { execFile } from 'node:child_process';
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const REPO = path.resolve(__dirname, '..');

/**
 * An earlier commit's files (all of them, or only `subtree`), extracted with `git archive` into `tree` with this
 * tree's node_modules linked in: that commit's code, run beside this one's on the same dependencies.
 */
export async function extractCommit(commit: string, tree: string, subtree?: string): Promise<void> {
  await mkdir(tree, { recursive: true });
  await promisify(execFile)('bash', ['-c', `git archive ${commit} ${subtree ?? ''} | tar -x -C "${tree}"`], { cwd: REPO });
  await symlink(path.join(REPO, 'node_modules'), path.join(tree, 'node_modules'));
}
