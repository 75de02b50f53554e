/**
 * TypeBox schemas for every route's params, query and responses: they validate requests, drive the
 * fast response serializer, and generate the OpenAPI document at /docs.
 */
import { Type, type Static, type TObject, type TSchema, type TString, type TInteger } from "@sinclair/typebox";
import { PROOF_BUNDLE_TYPE } from "../core/bundle";
import { ALL_VERDICTS, type Verdict as VerdictName } from "../core/verdict";

/** Nullable as a JSON Schema type array, which the response serializer handles without `anyOf`. */
function Nullable<T extends TString | TInteger>(schema: T): ReturnType<typeof Type.Unsafe<Static<T> | null>> {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type as string, "null"] });
}

function NullableObject<T extends TObject>(schema: T): ReturnType<typeof Type.Unsafe<Static<T> | null>> {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: ["object", "null"] });
}

export const Hex32 = Type.String({ pattern: "^0x[0-9a-f]{64}$", description: "0x + 64 lowercase hex digits" });
export const Hex32Param = Type.String({ pattern: "^0x[0-9a-fA-F]{64}$", description: "0x + 64 hex digits" });
export const BrandIdParam = Type.String({ pattern: "^[0-9]{1,15}$", description: "decimal brand id" });
export const Address = Type.String({ description: "0x-prefixed lowercase address" });
export const IsoTime = Type.String({ description: "ISO 8601 UTC time" });
export const RecordKind = Type.Union([Type.Literal("identity"), Type.Literal("trace")]);
/** A Protocol v1 record, exactly as anchored (identity or trace). */
export const RecordJson = Type.Unknown({ description: "Protocol v1 record" });

export const ErrorBody = Type.Object(
  { error: Type.String(), message: Type.String(), field: Type.Optional(Type.String()) },
  { description: "every error response" },
);

export const AnchorRef = Type.Object({
  chainId: Type.String(),
  contract: Address,
  brandId: Type.String(),
  kind: RecordKind,
  leafCount: Type.Integer(),
  txHash: Hex32,
  blockNumber: Type.Integer(),
  logIndex: Type.Integer(),
  blockTime: IsoTime,
});

/** AnchorRef of core/bundle.ts plus what the mirror knows now. */
export const AnchorStatus = Type.Composite([
  AnchorRef,
  Type.Object({
    final: Type.Boolean({ description: "block_number <= the mirror's finalized block" }),
    revoked: Type.Boolean(),
    revokeReason: Nullable(Type.String({ description: "the brand's reason, from the Revoked event" })),
    explorerTxUrl: Nullable(Type.String()),
  }),
]);

export const ProofBundle = Type.Object({
  type: Type.Literal(PROOF_BUNDLE_TYPE),
  v: Type.Literal(1),
  record: RecordJson,
  recordHash: Hex32,
  proof: Type.Array(Hex32),
  root: Hex32,
  anchor: AnchorRef,
});

const Proved = {
  record: RecordJson,
  recordHash: Hex32,
  proof: Type.Array(Hex32),
  root: Hex32,
  anchor: AnchorStatus,
};

export const Verdict = Type.Unsafe<VerdictName>({
  type: "string",
  enum: [...ALL_VERDICTS],
  description:
    "core/verdict.ts: a serial is genuine, revoked, recalled, prefix-mismatch, suspicious or unknown; a lot or product registered, recalled, unlisted or unregistered",
});

export const ItemDocument = Type.Object({
  level: Type.Unsafe<"serial" | "lot" | "product">({
    type: "string",
    enum: ["serial", "lot", "product"],
    description: "what the Digital Link identifies",
  }),
  verdict: Verdict,
  item: Type.Object({
    gtin: Type.String(),
    serial: Nullable(Type.String()),
    lot: Nullable(Type.String()),
    digitalLink: Type.String(),
  }),
  brand: NullableObject(
    Type.Object({
      brandId: Type.String(),
      name: Type.String(),
      prefix: Type.String({ description: "the GS1 company prefix that owns the GTIN" }),
    }),
  ),
  identity: NullableObject(
    Type.Object(Proved, {
      description:
        "serial: the item's identity record; lot and product: one live identity record of the prefix owner for the GTIN (and lot)",
    }),
  ),
  events: Type.Array(
    Type.Object({
      ...Proved,
      level: Type.String({ enum: ["item", "lot", "class"] }),
      role: Nullable(Type.String()),
      eventTime: Nullable(Type.String()),
    }),
  ),
  product: NullableObject(
    Type.Object(
      {
        name: Nullable(Type.String({ description: "from the sample identity record's attributes (product, name, …)" })),
        attributes: Type.Unsafe<{ [key: string]: unknown } | null>({
          type: ["object", "null"],
          additionalProperties: true,
          description: "the sample identity record's attributes",
        }),
        items: Type.Integer({ description: "live identity records of the prefix owner for the GTIN (and lot)" }),
        lots: Type.Integer({ description: "distinct lots among them" }),
        recalledLots: Type.Array(Type.String(), { description: "lots the prefix owner recalled by a lot-level event" }),
      },
      { description: "null at serial level" },
    ),
  ),
  scans: Type.Object({ count: Nullable(Type.Integer()), firstScanAt: Nullable(IsoTime) }),
});

const Link = Type.Object({
  href: Type.String(),
  title: Type.String(),
  type: Type.Optional(Type.String()),
  hreflang: Type.Optional(Type.Array(Type.String())),
});
/**
 * The schema of a document a route sends as JSON text it wrote itself (byte for byte what the
 * serialiser would write, see test/api/item-fast-path.test.ts): the same schema for validation of
 * the docs, typed as the text the handler sends.
 */
export function PreRendered<T extends TSchema>(schema: T): ReturnType<typeof Type.Unsafe<string>> {
  return Type.Unsafe<string>({ ...schema });
}

/** RFC 9264 linkset: one context object per anchor, link relations as GS1 Web Vocabulary URIs (plus the "ta:signedBy" extension member). */
export const Linkset = Type.Object({
  linkset: Type.Array(
    Type.Object(
      { anchor: Type.String(), "https://gs1.org/voc/defaultLink": Type.Array(Link, { minItems: 1, maxItems: 1 }) },
      { additionalProperties: true },
    ),
  ),
});

/** /.well-known/gs1resolver, as GS1's resolver description file schema has it. */
export const ResolverDescription = Type.Object({
  name: Type.String(),
  resolverRoot: Type.String(),
  supportedPrimaryKeys: Type.Array(Type.String(), { description: "numeric AIs: 01 (GTIN)" }),
  supportedLinkType: Type.Array(
    Type.Object({ namespace: Type.String(), prefix: Type.String(), profile: Type.String() }),
  ),
  linkTypeDefaultCanBeLinkset: Type.Boolean(),
});

export const DigitalLinkQuery = Type.Object(
  { linkType: Type.Optional(Type.String({ maxLength: 100 })) },
  { additionalProperties: Type.String({ maxLength: 1000 }) },
);

export const Brand = Type.Object({
  brandId: Type.String(),
  name: Type.String(),
  admin: Address,
  pendingAdmin: Nullable(Type.String()),
  registeredBlock: Type.Integer(),
  registeredTx: Hex32,
  registeredTime: IsoTime,
});

export const BrandDetail = Type.Composite([
  Brand,
  Type.Object({
    prefixes: Type.Array(
      Type.Object({ prefix: Type.String(), assignedBlock: Type.Integer(), assignedTx: Hex32, assignedTime: IsoTime }),
    ),
    submitters: Type.Array(
      Type.Object({
        account: Address,
        role: Nullable(Type.String()),
        roleRaw: Hex32,
        setBlock: Type.Integer(),
        setTx: Hex32,
        setTime: IsoTime,
      }),
    ),
  }),
]);

export const BatchStatus = Type.Object({
  brandId: Type.String(),
  root: Hex32,
  kind: RecordKind,
  leafCount: Type.Integer(),
  contentUri: Type.String(),
  submitter: Address,
  anchor: AnchorStatus,
  final: Type.Boolean(),
  revoked: NullableObject(
    Type.Object({
      reason: Type.String(),
      by: Nullable(Type.String()),
      txHash: Nullable(Type.String()),
      blockNumber: Type.Integer(),
      blockTime: Nullable(IsoTime),
    }),
  ),
  content: Type.Object({
    status: Type.String({ enum: ["ok", "pending", "mismatch"] }),
    reason: Nullable(Type.String()),
  }),
  links: Type.Object({
    self: Type.String(),
    records: Type.String(),
    content: Type.String(),
    explorerTx: Nullable(Type.String()),
    explorerBlock: Nullable(Type.String()),
    explorerContract: Nullable(Type.String()),
  }),
});

export const BatchList = Type.Object({ batches: Type.Array(BatchStatus), nextCursor: Nullable(Type.String()) });

export const BatchParams = Type.Object({ brandId: BrandIdParam, root: Hex32Param });

export const BatchListQuery = Type.Object(
  {
    brand: Type.Optional(BrandIdParam),
    kind: Type.Optional(RecordKind),
    cursor: Type.Optional(
      Type.String({ pattern: "^[0-9]{1,15}-[0-9]{1,9}$", description: "nextCursor of the previous page" }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  },
  { additionalProperties: false },
);

export const RecordsQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ pattern: "^[0-9]{1,10}$", description: "nextCursor of the previous page" })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);

export const RecordsPage = Type.Object({
  brandId: Type.String(),
  root: Hex32,
  records: Type.Array(Type.Object({ leafIndex: Type.Integer(), recordHash: Hex32, record: RecordJson })),
  nextCursor: Nullable(Type.String()),
});

export const UploadResult = Type.Object({
  status: Type.String({ enum: ["accepted", "already-present"] }),
  brandId: Type.String(),
  root: Hex32,
  leafCount: Type.Integer(),
});

export const Health = Type.Object({ status: Type.Literal("ok") });
export const Readiness = Type.Object({
  status: Type.String({ enum: ["ready", "not-ready"] }),
  reason: Nullable(Type.String()),
  chainId: Nullable(Type.String()),
  contract: Nullable(Type.String()),
  indexedBlock: Nullable(Type.Integer()),
  headBlock: Nullable(Type.Integer()),
  finalizedBlock: Nullable(Type.Integer()),
  lagBlocks: Nullable(Type.Integer()),
  lagSeconds: Nullable(Type.Integer()),
  indexer: Nullable(Type.String()),
  engine: Type.Optional(Type.String({ enum: ["sqlite", "postgres"], description: "where the mirror is kept" })),
  role: Type.Optional(
    Type.String({
      enum: ["leader", "standby"],
      description: "the in-process indexer's role: the leader writes the mirror, a standby waits for the writer lock",
    }),
  ),
  standby: Type.Optional(
    NullableObject(
      Type.Object(
        {
          lagSeconds: Type.Union([Type.Number(), Type.Null()], {
            description: "since the last transaction replayed; 0 when nothing is behind",
          }),
          lagBytes: Nullable(Type.Integer({ description: "WAL the standby has not replayed yet" })),
        },
        {
          description:
            "the PostgreSQL standby this replica reads from (TRACE_DB_READ_URL); null when it reads the primary",
        },
      ),
    ),
  ),
});

/** Error responses most routes can give. */
export const errorResponses = (...codes: number[]): Record<number, TSchema> =>
  Object.fromEntries(codes.map((code) => [code, ErrorBody]));
