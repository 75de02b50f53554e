/**
 * GET /healthz (the process answers) and GET /readyz (the mirror is usable: indexed, following the
 * head, not halted). Readiness reads the cursor row and, when the indexer runs in-process, its status.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type, type Static } from "@sinclair/typebox";
import { Health, Readiness } from "../schemas";
import type { IndexerHealth, RouteOptions } from "./options";
import type { Mirror } from "../mirror";

export type ReadinessDoc = Static<typeof Readiness>;

export async function readiness(
  mirror: Mirror,
  status: IndexerHealth | undefined,
  nowSeconds: number,
): Promise<ReadinessDoc> {
  // A mirror that cannot be read (the standby or the server down) is not ready: 503, never a 500.
  const [cursor, standby] = await Promise.all([
    mirror.cursor.get().catch(() => "unreadable" as const),
    mirror.standbyLag().then(
      (lag) => (lag === null ? null : { lagSeconds: lag.seconds, lagBytes: lag.bytes }),
      () => "unreachable" as const,
    ),
  ]);
  const indexer = status === undefined ? null : status.state;
  const where = {
    engine: mirror.engine,
    ...(standby === "unreachable" ? { standby: null } : { standby }),
    // Which replica writes the shared mirror (PostgreSQL): "leader" or "standby"; absent without an indexer.
    ...(status?.role === undefined ? {} : { role: status.role }),
  };
  if (cursor === undefined || cursor === "unreadable") {
    return {
      status: "not-ready",
      reason:
        cursor === undefined ? "not-indexed" : standby === "unreachable" ? "standby-unreachable" : "mirror-unreachable",
      chainId: null,
      contract: null,
      indexedBlock: null,
      headBlock: status?.head ?? null,
      finalizedBlock: null,
      lagBlocks: null,
      lagSeconds: null,
      indexer,
      ...where,
    };
  }
  const indexed = status?.indexedBlock ?? cursor.blockNumber;
  const head = Math.max(status?.head ?? cursor.headBlock ?? indexed, indexed);
  const lagBlocks = head - indexed;
  const lagSeconds =
    lagBlocks === 0 ? 0 : cursor.blockTime === null ? null : Math.max(0, nowSeconds - cursor.blockTime);
  let reason: string | null = null;
  if (status !== undefined) {
    if (status.fatal !== null) reason = /REORG/i.test(status.fatal.code) ? "reorg-too-deep" : "halted";
    else if (status.state === "failed" || status.state === "stopped") reason = "halted";
    else if (status.stalled) reason = "stalled";
  }
  if (reason === null && standby === "unreachable") reason = "standby-unreachable";
  return {
    status: reason === null ? "ready" : "not-ready",
    reason,
    chainId: String(cursor.chainId),
    contract: cursor.contract,
    indexedBlock: indexed,
    headBlock: head,
    finalizedBlock: cursor.finalizedBlock,
    lagBlocks,
    lagSeconds,
    indexer,
    ...where,
  };
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify's async plugin contract: registration is done when the promise settles, and async turns a throw here into a registration error
const plugin: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { mirror, indexerStatus }) => {
  app.get(
    "/healthz",
    { schema: { summary: "Liveness", tags: ["Operations"], response: { 200: Health } } },
    async (_request, reply) => {
      reply.header("cache-control", "no-store");
      return { status: "ok" as const };
    },
  );

  app.get(
    "/readyz",
    {
      schema: {
        summary:
          "Readiness: indexer lag in blocks and seconds; 503 when not indexed, halted, stalled or after a too-deep reorg",
        tags: ["Operations"],
        querystring: Type.Object({}, { additionalProperties: false }),
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const doc = await readiness(mirror, indexerStatus?.(), Math.floor(Date.now() / 1000));
      reply.header("cache-control", "no-store");
      return reply.code(doc.status === "ready" ? 200 : 503).send(doc);
    },
  );
};

export default plugin;
