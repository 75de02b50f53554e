/**
 * Decoding TraceAnchor logs from the contract's event ABI (EVENT_ABI below, checked against the
 * TypeChain interface by test/mirror/decode.test.ts). Pure: the same log always decodes to the same
 * event, so derived state can be replayed from `events_raw`.
 *
 * No ethers here: loading it costs `traceanchor index` about a tenth of a second of start-up, and
 * every event of the ABI has elementary types, which decodeWord reads directly.
 */
import type {
  AnchoredEvent,
  BrandAdminTransferStartedEvent,
  BrandAdminTransferredEvent,
  BrandRegisteredEvent,
  PrefixAssignedEvent,
  PrefixReleasedEvent,
  RevokedEvent,
  SubmitterRemovedEvent,
  SubmitterRoleSetEvent,
} from "../typechain-types/contracts/TraceAnchor";

/** The events that change derived state, with their TypeChain argument objects. */
export type TraceEvent =
  | { readonly name: "BrandRegistered"; readonly args: BrandRegisteredEvent.OutputObject }
  | { readonly name: "BrandAdminTransferStarted"; readonly args: BrandAdminTransferStartedEvent.OutputObject }
  | { readonly name: "BrandAdminTransferred"; readonly args: BrandAdminTransferredEvent.OutputObject }
  | { readonly name: "PrefixAssigned"; readonly args: PrefixAssignedEvent.OutputObject }
  | { readonly name: "PrefixReleased"; readonly args: PrefixReleasedEvent.OutputObject }
  | { readonly name: "SubmitterRoleSet"; readonly args: SubmitterRoleSetEvent.OutputObject }
  | { readonly name: "SubmitterRemoved"; readonly args: SubmitterRemovedEvent.OutputObject }
  | { readonly name: "Anchored"; readonly args: AnchoredEvent.OutputObject }
  | { readonly name: "Revoked"; readonly args: RevokedEvent.OutputObject };

export type TraceEventName = TraceEvent["name"];

/** Events whose effects live in brands, prefixes and submitters (replayed after a reorg). */
export const REGISTRY_EVENTS: readonly TraceEventName[] = [
  "BrandRegistered",
  "BrandAdminTransferStarted",
  "BrandAdminTransferred",
  "PrefixAssigned",
  "PrefixReleased",
  "SubmitterRoleSet",
  "SubmitterRemoved",
];

const TRACE_EVENT_NAMES = new Set<string>([...REGISTRY_EVENTS, "Anchored", "Revoked"]);

export interface DecodedLog {
  /** The ABI event name, or "unknown" for a topic the ABI does not know. */
  readonly name: string;
  /** The event if it changes derived state, else null (e.g. AccessControl's RoleGranted). */
  readonly event: TraceEvent | null;
  /** The arguments as JSON; addresses lowercase, integers as decimal strings. */
  readonly argsJson: string;
}

/** One event of the contract's ABI: its name, topic0 and inputs in order. */
export interface EventAbi {
  readonly name: string;
  readonly topic: string;
  readonly inputs: readonly { readonly name: string; readonly type: string; readonly indexed: boolean }[];
}

const parseInput = (spec: string): EventAbi["inputs"][number] => {
  const [type = "", second = "", third] = spec.split(" ");
  return third === undefined ? { type, name: second, indexed: false } : { type, name: third, indexed: true };
};
const abi = (name: string, topic: string, ...inputs: string[]): EventAbi => ({
  name,
  topic,
  inputs: inputs.map(parseInput),
});

/** Every event of TraceAnchor's ABI (its own and OpenZeppelin's), as `type [indexed] name`. */
export const EVENT_ABI: readonly EventAbi[] = [
  abi(
    "Anchored",
    "0x30b2534c4616406e55370015cd88f3fbccd15f0569da3236102e0819f4582783",
    "uint64 indexed brandId",
    "bytes32 indexed root",
    "address indexed submitter",
    "uint8 kind",
    "uint64 leafCount",
    "string contentURI",
  ),
  abi(
    "BrandAdminTransferred",
    "0xb1520ac982309370e45276c842e4e874876b1b6db660a8365f154f992d9c6683",
    "uint64 indexed brandId",
    "address indexed previousAdmin",
    "address indexed newAdmin",
  ),
  abi(
    "BrandAdminTransferStarted",
    "0xcf53d0bacb427cb5819b8d6cf9f7a86a360b67b31e2ecc7f8c9537bd4d92da3e",
    "uint64 indexed brandId",
    "address indexed admin",
    "address indexed pendingAdmin",
  ),
  abi(
    "BrandRegistered",
    "0x3f2fe30736903b4668f482f0b3fca0586cebe0686d774f04581568d2296ef7d7",
    "uint64 indexed brandId",
    "address indexed admin",
    "string name",
  ),
  abi("DefaultAdminDelayChangeCanceled", "0x2b1fa2edafe6f7b9e97c1a9e0c3660e645beb2dcaa2d45bdbf9beaf5472e1ec5"),
  abi(
    "DefaultAdminDelayChangeScheduled",
    "0xf1038c18cf84a56e432fdbfaf746924b7ea511dfe03a6506a0ceba4888788d9b",
    "uint48 newDelay",
    "uint48 effectSchedule",
  ),
  abi("DefaultAdminTransferCanceled", "0x8886ebfc4259abdbc16601dd8fb5678e54878f47b3c34836cfc51154a9605109"),
  abi(
    "DefaultAdminTransferScheduled",
    "0x3377dc44241e779dd06afab5b788a35ca5f3b778836e2990bdb26a2a4b2e5ed6",
    "address indexed newAdmin",
    "uint48 acceptSchedule",
  ),
  abi("EIP712DomainChanged", "0x0a6387c9ea3628b88a633bb4f3b151770f70085117a15f9bf3787cda53f13d31"),
  abi(
    "PrefixAssigned",
    "0x7aeaed670a090d2d438b8cce01a41f64938fccfe68b2579fd8596717ccb3edfc",
    "uint64 indexed brandId",
    "string prefix",
  ),
  abi(
    "PrefixReleased",
    "0x4d4fbd141084447b9bc191fce6757f39a370a72996b7beda6ea6658d116e1345",
    "uint64 indexed brandId",
    "string prefix",
  ),
  abi(
    "Revoked",
    "0x0d6e303a168d8b1ee888dc52cbcd1316bc4f072de29fe3d946c9dfa1e59ce49c",
    "uint64 indexed brandId",
    "bytes32 indexed root",
    "address indexed admin",
    "string reason",
  ),
  abi(
    "RoleAdminChanged",
    "0xbd79b86ffe0ab8e8776151514217cd7cacd52c909f66475c3af44e129f0b00ff",
    "bytes32 indexed role",
    "bytes32 indexed previousAdminRole",
    "bytes32 indexed newAdminRole",
  ),
  abi(
    "RoleGranted",
    "0x2f8788117e7eff1d82e926ec794901d17c78024a50270940304540a733656f0d",
    "bytes32 indexed role",
    "address indexed account",
    "address indexed sender",
  ),
  abi(
    "RoleRevoked",
    "0xf6391f5c32d9c69d2a47ea670b442974b53935d1edc7fd64eb21e047a839171b",
    "bytes32 indexed role",
    "address indexed account",
    "address indexed sender",
  ),
  abi(
    "SubmitterRemoved",
    "0xeeae6efd108b671531d8a317130678fd9ad6cf879a3bd11b238cd099eb088740",
    "uint64 indexed brandId",
    "address indexed account",
  ),
  abi(
    "SubmitterRoleSet",
    "0xd623113ae7b290e915aa9046307d1c8d714c82dab4aa4226be7f5bf5a68335b9",
    "uint64 indexed brandId",
    "address indexed account",
    "bytes32 indexed role",
  ),
];

const eventsByTopic = new Map(EVENT_ABI.map((event) => [event.topic, event]));

function normalise(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString(10);
  if (typeof value === "string" && /^0x[0-9a-fA-F]{40}$/.test(value)) return value.toLowerCase();
  return value;
}

/**
 * Decodes one ABI value of an elementary type from a 32-byte word (64 hex chars), or returns
 * undefined for a type this fast path does not handle. ethers' decodeEventLog costs ~140 µs a log
 * (Result proxies, address checksums); this is ~50 times faster and is tested against it.
 */
function decodeWord(type: string, word: string): unknown {
  if (type === "address") return `0x${word.slice(24)}`;
  if (type === "bool") return word.endsWith("1");
  const uint = /^uint(\d*)$/.exec(type);
  if (uint !== null) return BigInt(`0x${word}`);
  const int = /^int(\d*)$/.exec(type);
  if (int !== null) return BigInt.asIntN(Number.parseInt(int[1] || "256", 10), BigInt(`0x${word}`));
  const bytes = /^bytes(\d+)$/.exec(type);
  if (bytes !== null) return `0x${word.slice(0, Number.parseInt(bytes[1] ?? "32", 10) * 2)}`;
  return undefined;
}

function wordAt(data: string, index: number): string {
  const word = data.slice(2 + index * 64, 2 + (index + 1) * 64);
  if (word.length !== 64) throw new Error(`log data too short for word ${index}`);
  return word;
}

/** The values of `event`'s inputs in order. */
function decodeValues(event: EventAbi, topics: readonly string[], data: string): unknown[] {
  const values: unknown[] = [];
  let topic = 1;
  let head = 0;
  for (const input of event.inputs) {
    if (input.indexed) {
      const word = topics[topic++]?.slice(2);
      if (word?.length !== 64) throw new Error(`log has too few topics for ${event.name}`);
      // An indexed string or bytes is its hash.
      values.push(
        input.type === "string" || input.type === "bytes" ? `0x${word}` : elementary(event, input.type, word),
      );
      continue;
    }
    const word = wordAt(data, head++);
    if (input.type === "string" || input.type === "bytes") {
      const offset = Number.parseInt(word, 16) * 2 + 2;
      const length = Number.parseInt(data.slice(offset, offset + 64), 16);
      const body = data.slice(offset + 64, offset + 64 + length * 2);
      if (!Number.isSafeInteger(length) || body.length !== length * 2)
        throw new Error(`bad ${input.type} in ${event.name}`);
      values.push(input.type === "string" ? Buffer.from(body, "hex").toString("utf8") : `0x${body}`);
      continue;
    }
    values.push(elementary(event, input.type, word));
  }
  return values;
}

function elementary(event: EventAbi, type: string, word: string): unknown {
  const value = decodeWord(type, word);
  if (value === undefined) throw new Error(`${event.name}: no decoder for ABI type ${type}`);
  return value;
}

export function decodeLog(topics: readonly string[], data: string): DecodedLog {
  const abiEvent = topics[0] === undefined ? undefined : eventsByTopic.get(topics[0]);
  if (abiEvent === undefined) return { name: "unknown", event: null, argsJson: "{}" };
  const values = decodeValues(abiEvent, topics, data);
  const args: Record<string, unknown> = {};
  const json: Record<string, unknown> = {};
  abiEvent.inputs.forEach((input, i) => {
    const value: unknown = values[i];
    const normalised = normalise(value);
    args[input.name] = typeof value === "bigint" ? value : normalised;
    json[input.name] = normalised;
  });
  const event = TRACE_EVENT_NAMES.has(abiEvent.name) ? ({ name: abiEvent.name, args } as unknown as TraceEvent) : null;
  return { name: abiEvent.name, event, argsJson: JSON.stringify(json) };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A bytes32 role label as text: the bytes up to the trailing zero padding, if they are printable
 * UTF-8 with no embedded zero byte; otherwise null (the raw value is kept alongside).
 */
export function roleLabel(role: string): string | null {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(role)) throw new TypeError(`not hex bytes: ${role}`);
  const bytes = Buffer.from(role.slice(2), "hex");
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  if (end === 0) return null;
  const body = bytes.subarray(0, end);
  if (body.includes(0)) return null;
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return null; // not UTF-8: a hashed role, say; the caller keeps role_raw
  }
  return /^[\p{L}\p{N}\p{P}\p{S} ]+$/u.test(text) ? text : null;
}
