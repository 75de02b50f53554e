/**
 * The submit journal: what `batch submit` has done for one input file, so running it again after a
 * crash finishes the job instead of building a second batch with new salts (and a new root).
 * Entries live in `<contentDir>/.journal/<key>.json`, written atomically.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";

export interface JournalEntry {
  inputSha256: string;
  brandId: string;
  kind: "identity" | "trace";
  root: string;
  leafCount: number;
  content: string;
  contentURI: string;
  anchoredTx?: string;
  anchoredBlock?: number;
  uploaded?: boolean;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

export function journalKey(inputSha256: string, brandId: string, kind: string): string {
  return createHash("sha256").update(`${inputSha256}:${brandId}:${kind}`).digest("hex").slice(0, 32);
}

function entryPath(contentDir: string, key: string): string {
  return path.join(contentDir, ".journal", `${key}.json`);
}

export function readJournal(contentDir: string, key: string): JournalEntry | undefined {
  const file = entryPath(contentDir, key);
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as JournalEntry;
  } catch {
    // A torn journal entry is only a lost shortcut: the batch is rebuilt, and the chain decides the rest.
    return undefined;
  }
}

export function writeJournal(contentDir: string, key: string, entry: JournalEntry): void {
  const file = entryPath(contentDir, key);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(entry, null, 2)}\n`);
  fs.renameSync(tmp, file);
}
