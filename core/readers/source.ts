/** Opening inputs and splitting them into lines without holding the whole file. */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { ValidationError } from "../errors";
import type { ReaderSource } from "./types";

export function openStream(source: ReaderSource): NodeJS.ReadableStream {
  return typeof source.input === "string" ? createReadStream(source.input) : source.input;
}

export function sourceName(source: ReaderSource): string | undefined {
  return source.file ?? (typeof source.input === "string" ? source.input : undefined);
}

/** Lines with their 1-based numbers; a UTF-8 BOM on line 1 is dropped. */
export async function* numberedLines(stream: NodeJS.ReadableStream): AsyncGenerator<{ line: number; text: string }> {
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const raw of rl) {
      line++;
      yield { line, text: line === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw };
    }
  } finally {
    rl.close();
    const destroyable = stream as NodeJS.ReadableStream & { destroy?: () => void };
    destroyable.destroy?.();
  }
}

/** One NDJSON line as a JSON value; a syntax error becomes the readers' NDJSON_SYNTAX ValidationError. */
export function parseJsonLine(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`invalid JSON: ${(err as Error).message}`, { code: "NDJSON_SYNTAX" }, { cause: err });
  }
}
