// What every executor operation needs: the connection, where the tools are, our environment and a logger.
import type { Logger } from '../../handlers/ports/logger';
import type { Durability } from './durability';
import { toolNotFound } from './errors';
import type { PgConnection } from './pg-env';
import { findTool, searchedWhere, toolSearchPath, type ToolLookup, type ToolName } from './tools';

export interface ExecutorContext {
  connection: PgConnection;
  logger: Logger;
  lookup: ToolLookup;
  sourceEnv: NodeJS.ProcessEnv;
  /** Files older than this are leftovers of an earlier process. */
  startedAtMs: number;
  /** The server's major version when known (from probe or the dump's seed), to pick the matching tools. */
  serverMajor: number | null;
  /** The fsyncs of a dump (default: the file system's); a test watches them through this. */
  durability?: Durability;
}

/** The absolute path of a tool, or EXECUTOR.TOOL_NOT_FOUND with the install hint. */
export async function requireTool(
  context: ExecutorContext,
  name: ToolName,
  serverMajor: number | null,
): Promise<string> {
  const path = await findTool(name, await toolSearchPath(context.lookup, serverMajor));
  if (!path) throw toolNotFound(name, searchedWhere(context.lookup), serverMajor);
  return path;
}
