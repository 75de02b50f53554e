/**
 * Large identity CSVs for benchmarks and tests, streamed to disk: `rows` items over `products`
 * GTIN-14s (valid check digits), serials `S000000000…`, `itemsPerLot` items per lot.
 */
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { gs1CheckDigit } from "../../core/gs1";

export interface IdentityCsvOptions {
  readonly rows: number;
  /** Distinct GTINs, cycled over the rows. */
  readonly products: number;
  readonly itemsPerLot: number;
  /** An extra attribute column `plant` (P0, P1, P2), so records carry attributes too. */
  readonly withAttribute?: boolean;
}

export async function writeIdentityCsv(file: string, options: IdentityCsvOptions): Promise<void> {
  const gtins = Array.from({ length: options.products }, (_, i) => {
    const body = `0950600010${String(i).padStart(3, "0")}`;
    return `${body}${gs1CheckDigit(body)}`;
  });
  const out = createWriteStream(file);
  out.write(options.withAttribute ? "gtin,serial,lot,plant\n" : "gtin,serial,lot\n");
  let chunk: string[] = [];
  for (let i = 0; i < options.rows; i++) {
    const row = `${gtins[i % gtins.length] ?? ""},S${String(i).padStart(9, "0")},L${Math.floor(i / options.itemsPerLot)}`;
    chunk.push(options.withAttribute ? `${row},P${i % 3}` : row);
    if (chunk.length === 10_000) {
      if (!out.write(`${chunk.join("\n")}\n`)) await once(out, "drain");
      chunk = [];
    }
  }
  if (chunk.length > 0) out.write(`${chunk.join("\n")}\n`);
  out.end();
  await once(out, "finish");
}
