/** A progress bar on a terminal; silent in --json mode or when stderr is not a terminal. */
import type { BatchProgress } from "../../core/batch";
import type { Output } from "./output";

export interface Progress {
  update(progress: BatchProgress): void;
  stop(): void;
}

export async function createProgress(out: Output, label: string): Promise<Progress> {
  if (!out.isTerminal) return { update: () => undefined, stop: () => undefined };
  const { SingleBar, Presets } = await import("cli-progress");
  const bar = new SingleBar(
    {
      format: `${label} {phase} | {value} records | {rejected} rejected | {duration_formatted}`,
      stream: process.stderr,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  bar.start(0, 0, { phase: "read", rejected: 0 });
  return {
    update: (p) => bar.update(p.records, { phase: p.phase, rejected: p.rejected }),
    stop: () => bar.stop(),
  };
}
