/** The mirror's cursor row: which chain and contract, how far indexed, what is final. */
import type { Database } from "better-sqlite3";
import type { CursorRow } from "../types";
import { ttlCache, versionedCache, type MirrorVersion } from "./cache";

export interface CursorRepository {
  get(): CursorRow | undefined;
}

interface Row {
  chain_id: number;
  contract: string;
  block_number: number;
  head_block: number | null;
  finalized_block: number;
  block_time: number | null;
}

export function createCursorRepository(db: Database, version?: MirrorVersion): CursorRepository {
  const select = db.prepare<[], Row>(
    "SELECT c.chain_id, c.contract, c.block_number, c.head_block, c.finalized_block, b.timestamp AS block_time " +
      "FROM cursor c LEFT JOIN blocks b ON b.number = c.block_number WHERE c.id = 1",
  );
  // Read on every request; the cursor moves once per indexed range. With the mirror's version it is
  // re-read after every commit to the mirror, else a 250 ms old copy is as good.
  const memo =
    version === undefined
      ? ttlCache<0, CursorRow | undefined>(250, 1)
      : versionedCache<0, CursorRow | undefined>(version, 1);
  return {
    get: () => memo.get(0, read),
  };

  function read(): CursorRow | undefined {
    {
      const row = select.get();
      if (row === undefined) return undefined;
      return {
        chainId: row.chain_id,
        contract: row.contract,
        blockNumber: row.block_number,
        headBlock: row.head_block,
        finalizedBlock: row.finalized_block,
        blockTime: row.block_time,
      };
    }
  }
}
