import type { Logger } from "../../../indexer";

/** A logger that keeps what it is told, for assertions; prints nothing unless TRACE_TEST_LOG=1. */
export function memoryLogger(): Logger & { readonly lines: { level: string; msg?: string; obj: object }[] } {
  const lines: { level: string; msg?: string; obj: object }[] = [];
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, ...(msg === undefined ? {} : { msg }) });
      if (process.env.TRACE_TEST_LOG === "1") console.log(level, msg, JSON.stringify(obj));
    };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
