/** Turns any thrown value into the one line a CLI user reads. */
interface RevertInfo {
  name: string;
  args: readonly unknown[];
}

function revertOf(error: unknown): RevertInfo | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const revert = (error as { revert?: RevertInfo | null }).revert;
  return revert && typeof revert.name === "string" ? revert : undefined;
}

export function describeError(error: unknown): string {
  const revert = revertOf(error);
  if (revert) {
    const args = revert.args.map((a) => (typeof a === "string" ? JSON.stringify(a) : String(a))).join(", ");
    return `the contract refused: ${revert.name}(${args})`;
  }
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    const short = (error as { shortMessage?: string }).shortMessage;
    if (code === "ECONNREFUSED" || (code === "UNKNOWN_ERROR" && /ECONNREFUSED/.test(error.message))) {
      return "cannot reach the RPC node (connection refused)";
    }
    if (short) return short;
    return error.message.split("\n")[0] ?? error.name;
  }
  return String(error);
}
