import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDatabase } from "../../../indexer";
import type { Db } from "../../../indexer";

const dirs: string[] = [];

/** A path in a fresh temp directory, removed by cleanupTempDbs(). */
export function tempDbPath(name = "trace.db"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-indexer-"));
  dirs.push(dir);
  return path.join(dir, name);
}

export function tempDb(): Db {
  return openDatabase(tempDbPath());
}

export function cleanupTempDbs(): void {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}
