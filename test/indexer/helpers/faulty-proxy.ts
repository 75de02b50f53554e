/**
 * An HTTP proxy in front of a JSON-RPC node that misbehaves on a share of requests: 500s, 429s,
 * delays, dropped connections and truncated bodies. Seeded, so a failure can be replayed.
 */
import { prng } from "./synthetic";
import http from "node:http";
import type { AddressInfo } from "node:net";

export type Fault = "error500" | "error429" | "delay" | "drop" | "truncate";

export interface FaultRates {
  readonly error500: number;
  readonly error429: number;
  readonly delay: number;
  readonly drop: number;
  readonly truncate: number;
}

export interface FaultyProxy {
  readonly url: string;
  readonly counts: Record<Fault | "ok", number>;
  /** Changes the fault rates from now on. */
  setRates(rates: FaultRates): void;
  close(): Promise<void>;
}

export async function startFaultyProxy(
  upstream: string,
  initialRates: FaultRates,
  seed = 1,
  maxDelayMs = 400,
): Promise<FaultyProxy> {
  let rates = initialRates;
  const random = prng(seed);
  const counts: Record<Fault | "ok", number> = { error500: 0, error429: 0, delay: 0, drop: 0, truncate: 0, ok: 0 };
  const pick = (): Fault | "ok" => {
    let r = random();
    for (const fault of ["error500", "error429", "delay", "drop", "truncate"] as const) {
      if (r < rates[fault]) return fault;
      r -= rates[fault];
    }
    return "ok";
  };
  const forward = async (body: Buffer): Promise<string> => {
    const response = await fetch(upstream, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: body.toString("utf8"),
    });
    return response.text();
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const fault = pick();
      counts[fault]++;
      const body = Buffer.concat(chunks);
      const reply = (status: number, text: string): void => {
        res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
        res.end(text);
      };
      switch (fault) {
        case "error500":
          reply(500, "Internal Server Error");
          return;
        case "error429":
          res.writeHead(429, { "retry-after": "0", "content-type": "text/plain" });
          res.end("Too Many Requests");
          return;
        case "drop":
          req.socket.destroy();
          return;
        default:
          void (async () => {
            try {
              if (fault === "delay")
                await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * maxDelayMs)));
              const text = await forward(body);
              reply(200, fault === "truncate" ? text.slice(0, Math.floor(text.length / 2)) : text);
            } catch {
              res.destroy();
            }
          })();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    setRates(next) {
      rates = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
