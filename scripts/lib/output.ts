/**
 * What a command prints. Human mode writes readable lines; `--json` mode writes nothing decorative and
 * exactly one JSON object as the last line of stdout.
 */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export class Output {
  constructor(
    private readonly io: Io,
    readonly json: boolean,
  ) {}

  /** A line for people; dropped in --json mode. */
  info(line: string): void {
    if (!this.json) this.io.stdout.write(`${line}\n`);
  }

  /** Progress and warnings go to stderr, so stdout stays machine-readable. */
  note(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  /** The command's result: one JSON line in --json mode, else `key: value` lines. */
  result(value: Record<string, unknown>): void {
    if (this.json) {
      this.io.stdout.write(
        `${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}\n`,
      );
      return;
    }
    for (const [key, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const text =
        typeof v === "string" || typeof v === "number" || typeof v === "bigint" || typeof v === "boolean"
          ? String(v)
          : JSON.stringify(v);
      this.io.stdout.write(`${key}: ${text}\n`);
    }
  }

  /** A result already shown to people as a table: printed only in --json mode. */
  jsonOnly(value: Record<string, unknown>): void {
    if (this.json) this.result(value);
  }

  get isTerminal(): boolean {
    return !this.json && this.io.stderr.isTTY === true;
  }
}
