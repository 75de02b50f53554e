/**
 * Shared by every benchmark: rewrites one section of docs/benchmarks.md between
 * `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->`, leaving the others alone.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const BENCHMARKS_FILE = path.resolve(__dirname, "..", "docs", "benchmarks.md");

export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return `Machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`;
}

export function writeBenchSection(name: string, body: string, file = BENCHMARKS_FILE): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const section = `${start}\n${body}\n\n${machineLine()}\n${end}`;
  const current = fs.existsSync(file)
    ? fs.readFileSync(file, "utf8")
    : "# Benchmarks\n\nWritten by `npm run bench:*`; each section is rewritten by its own benchmark.\n";
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? current.slice(0, from) + section + current.slice(to + end.length)
      : `${current.trimEnd()}\n\n${section}\n`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, next);
}
