/** A chain the CLI cannot reach or use (no node at the RPC URL, no contract at the address). */
export class ChainError extends Error {
  override readonly name = "ChainError";
}
