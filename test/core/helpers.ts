import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export const FIXTURES = path.resolve(__dirname, "fixtures");
export const SHARED_EPCIS = path.resolve(__dirname, "../../../shared/samples/epcis");

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
