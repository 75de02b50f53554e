/**
 * Named errors of the mirror store. All are fatal to whoever hits them (retrying cannot help): a
 * schema the code cannot use, or a database that mirrors another chain or contract. SQLite's own
 * busy/locked errors are passed through unchanged; the indexer treats those as retryable.
 */
export class MirrorError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A migration failed, or a read-only database is behind the code's schema. */
export class MigrationError extends MirrorError {
  constructor(message: string, options?: ErrorOptions) {
    super("MIGRATION", message, options);
  }
}

/** The database was built for another chain or contract than the one configured. */
export class ChainMismatchError extends MirrorError {
  constructor(message: string, options?: ErrorOptions) {
    super("CHAIN_MISMATCH", message, options);
  }
}
