import { DataSource, EntityManager } from 'typeorm';

/**
 * What the index int-specs share to read a statement's plan as PostgreSQL ran it: EXPLAIN ANALYZE
 * in a transaction rolled back after, and the rows and pages its nodes read.
 */

/** A node of EXPLAIN (ANALYZE, FORMAT JSON), as much of it as the int-specs read. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  /** Pages found in shared buffers: with `buffers` only. */
  'Shared Hit Blocks'?: number;
  /** Pages read into shared buffers: with `buffers` only. */
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

/**
 * The plan of `sql` (with `parameters`) as EXPLAIN (ANALYZE, FORMAT JSON) runs it, with BUFFERS
 * when `buffers`, in a transaction of its own on `db` that is rolled back after: `before` runs
 * first in it (a DROP INDEX to compare with), so nothing either writes stays. Answers the root node.
 */
export async function explainAnalyzed(
  db: DataSource,
  sql: string,
  options: {
    parameters?: unknown[];
    buffers?: boolean;
    before?: (manager: EntityManager) => Promise<unknown>;
  } = {},
): Promise<PlanNode> {
  const runner = db.createQueryRunner();
  await runner.startTransaction();
  try {
    await options.before?.(runner.manager);
    const explain = options.buffers ? 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)' : 'EXPLAIN (ANALYZE, FORMAT JSON)';
    const [row] = await runner.query(`${explain} ${sql}`, options.parameters);
    return (row['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan;
  } finally {
    await runner.rollbackTransaction();
    await runner.release();
  }
}

/** Every node of the plan under `root`, `root` first, depth first. */
export function planNodes(root: PlanNode): PlanNode[] {
  return [root, ...(root.Plans ?? []).flatMap(planNodes)];
}

/** The nodes of the plan under `root` that read `table` (depth first). */
export function scansOf(root: PlanNode, table: string): PlanNode[] {
  return planNodes(root).filter((node) => node['Relation Name'] === table);
}

/** Rows of `table` the plan under `root` read: returned or removed by a filter, in every loop. */
export function rowsRead(root: PlanNode, table: string): number {
  return scansOf(root, table).reduce(
    (sum, node) => sum + (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'],
    0,
  );
}

/**
 * The pages `node` touched (hit in shared buffers or read in). Throws when the plan was read
 * without `buffers`, which has no page counts.
 */
export function pagesTouched(node: PlanNode): number {
  const hit = node['Shared Hit Blocks'];
  const read = node['Shared Read Blocks'];
  if (hit === undefined || read === undefined) throw new Error('a plan read without BUFFERS has no page counts');
  return hit + read;
}
