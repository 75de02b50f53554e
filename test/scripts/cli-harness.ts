/** Runs the CLI in-process with captured output and a given environment. */
import { PassThrough } from "node:stream";
import { run } from "../../scripts/cli";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (commands run with --json). */
  json: Record<string, unknown>;
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}

export async function cli(
  argv: string[],
  env: Record<string, string | undefined>,
  cwd = process.cwd(),
): Promise<CliResult> {
  const out = capture();
  const err = capture();
  const code = await run(argv, { stdout: out.stream, stderr: err.stream, env, cwd });
  const stdout = out.text();
  const last = stdout.trimEnd().split("\n").pop() ?? "";
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(last) as Record<string, unknown>;
  } catch {
    // Human-mode output; callers that need JSON pass --json and assert on it.
  }
  return { code, stdout, stderr: err.text(), json };
}
