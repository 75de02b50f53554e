import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export const FIXTURES = path.resolve(__dirname, "fixtures");
/**
 * The shared samples: `shared/samples` beside the checkout or beside any folder above it (a git
 * worktree sits deeper than the main checkout), or TRACE_SHARED_SAMPLES.
 */
export const SHARED_SAMPLES =
  process.env.TRACE_SHARED_SAMPLES ?? findUp(path.resolve(__dirname, "../.."), path.join("shared", "samples"));
export const SHARED_EPCIS = path.join(SHARED_SAMPLES, "epcis");

function findUp(from: string, relative: string): string {
  for (let dir = path.dirname(from); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, relative))) return path.join(dir, relative);
    if (path.dirname(dir) === dir) return path.join(path.dirname(from), relative);
  }
}

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

/** A fresh temp dir per test, removed afterwards. */
export function useTempDir(): () => string {
  let dir: string | undefined;
  beforeEach(async function () {
    dir = await mkdtemp(path.join(os.tmpdir(), "traceanchor-core-"));
  });
  afterEach(async function () {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (dir === undefined) throw new Error("temp dir used outside a test");
    return dir;
  };
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iterable) out.push(x);
  return out;
}
