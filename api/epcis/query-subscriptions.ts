/**
 * Query subscriptions: where events may be sent, when a schedule fires, and the deliverer that
 * POSTs EPCISQueryDocuments of newly anchored matching events to each subscriber.
 *
 *   checkDestination(dest, { allowPrivate, lookup? }): Promise<URL>   400 SubscriptionControlsException
 *   parseSchedule(value): Schedule / scheduleFires(schedule, date): boolean
 *   startDeliverer({ store, mirror, allowPrivate, leads, log, intervalMs, fetch? }): { runOnce, stop }
 *
 * A subscription gets the events of its query recorded at or after its start (its creation, or the
 * `initialRecordTime` it was created with) once they are anchored (every event sent carries its
 * `ta:proof`), at most BATCH per POST, signed with `GS1-Signature: <hex HMAC-SHA256 of the body keyed
 * by the signatureToken>` when it has one. A stream subscription is served whenever such events
 * exist; a scheduled one when its schedule fires (and with an empty document when it asked for
 * `reportIfEmpty`). A send that fails (no 2xx in 10 s, a refused address) is retried with the same
 * events after 2^attempts seconds (at most an hour). Destinations must be http(s) on public addresses
 * (checked when subscribing and again before each send) unless private ones are allowed; redirects
 * are not followed.
 */
import { createHmac } from "node:crypto";
import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import type { Database } from "better-sqlite3";
import { createAnchoredLookup } from "../../mirror/epcis/query-proofs";
import { createEpcisQueryStore, type EventFilter, type StoredEvent } from "../../mirror/epcis/query";
import { createNamedQueryStore, type Subscription } from "../../mirror/epcis/query-named";
import type { EpcisStore } from "../../mirror/epcis/store";
import type { MirrorStore } from "../../mirror/store";
import { createMirror } from "../mirror";
import { epcisProblem } from "./problem";
import { createProofs, eventsWithProofs, queryDocument } from "./query-document";
import { parseEventQuery } from "./query-params";
import { startJobLoop } from "../../mirror/epcis/loop";

/** Events in one POST. */
export const BATCH = 100;
const SEND_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 3_600_000;

type Lookup = (host: string) => Promise<readonly { address: string }[]>;

const defaultLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 3],
] as const)
  PRIVATE.addSubnet(net, prefix, "ipv4");
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const)
  PRIVATE.addSubnet(net, prefix, "ipv6");

/** Loopback, private, link-local, shared, multicast or unspecified (IPv4-mapped IPv6 as its IPv4). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return PRIVATE.check(mapped, "ipv4");
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE.check(address, family === 4 ? "ipv4" : "ipv6");
}

const refuse = (detail: string) => epcisProblem(400, "SubscriptionControlsException", detail);

/** The destination as a URL, refused when it is not http(s) or (unless allowed) resolves to a private address. */
export async function checkDestination(
  dest: string,
  options: { readonly allowPrivate: boolean; readonly lookup?: Lookup },
): Promise<URL> {
  let url: URL;
  try {
    url = new URL(dest);
  } catch {
    throw refuse("dest: not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw refuse("dest: not an http(s) URL");
  if (url.username !== "" || url.password !== "") throw refuse("dest: credentials in the URL");
  if (options.allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost")) throw refuse(`dest: ${host} is a loopback address`);
  let addresses: readonly { address: string }[];
  try {
    addresses = isIP(host) === 0 ? await (options.lookup ?? defaultLookup)(host) : [{ address: host }];
  } catch {
    throw refuse(`dest: ${host.slice(0, 100)} does not resolve`);
  }
  const inside = addresses.find((a) => isPrivateAddress(a.address));
  if (inside !== undefined || addresses.length === 0)
    throw refuse(`dest: ${host.slice(0, 100)} is a loopback or private address (${inside?.address ?? "none"})`);
  return url;
}

/** A query schedule's fields, finest first, with their ranges (dayOfWeek: 1 Monday … 7 Sunday). */
const FIELDS = [
  ["second", 0, 59],
  ["minute", 0, 59],
  ["hour", 0, 23],
  ["dayOfMonth", 1, 31],
  ["month", 1, 12],
  ["dayOfWeek", 1, 7],
] as const;

export type Schedule = Readonly<Record<(typeof FIELDS)[number][0], ReadonlySet<number> | null>>;

/**
 * A REST binding schedule (`{"hour": "1", "minute": "5"}`; values are numbers, `[a-b]` ranges and
 * comma lists). Fields finer than the finest one given are their lowest value (01:05:00 above);
 * coarser ones match any value.
 */
export function parseSchedule(value: unknown): Schedule {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw refuse("schedule: not an object");
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given))
    if (!FIELDS.some(([name]) => name === key)) throw refuse(`schedule.${key}: unknown field`);
  const finest = FIELDS.findIndex(([name]) => given[name] !== undefined);
  if (finest < 0) throw refuse("schedule: names no field");
  const out: Record<string, ReadonlySet<number> | null> = {};
  FIELDS.forEach(([name, min, max], i) => {
    const raw = given[name];
    if (raw === undefined) {
      out[name] = i < finest ? new Set([min]) : null;
      return;
    }
    if (typeof raw !== "string" && typeof raw !== "number") throw refuse(`schedule.${name}: not a string`);
    const values = new Set<number>();
    for (const part of String(raw).split(",")) {
      const range = /^\[(\d+)-(\d+)\]$/.exec(part.trim());
      const [lo, hi] =
        range === null ? [Number(part.trim()), Number(part.trim())] : [Number(range[1]), Number(range[2])];
      if (!/^(\d+|\[\d+-\d+\])$/.test(part.trim()) || lo < min || hi > max || lo > hi)
        throw refuse(`schedule.${name}: ${String(raw).slice(0, 40)} is not within ${min}-${max}`);
      for (let v = lo; v <= hi; v++) values.add(v);
    }
    out[name] = values;
  });
  return out as Schedule;
}

export function scheduleFires(schedule: Schedule, date: Date): boolean {
  const actual: Record<string, number> = {
    second: date.getUTCSeconds(),
    minute: date.getUTCMinutes(),
    hour: date.getUTCHours(),
    dayOfMonth: date.getUTCDate(),
    month: date.getUTCMonth() + 1,
    dayOfWeek: ((date.getUTCDay() + 6) % 7) + 1,
  };
  return FIELDS.every(([name]) => {
    const set = schedule[name];
    return set === null || set.has(actual[name] ?? -1);
  });
}

/** The stored form of a subscription's schedule: the REST binding's fields and reportIfEmpty. */
export interface StoredSchedule {
  readonly schedule: Record<string, string | number>;
  readonly reportIfEmpty: boolean;
}

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface DelivererDeps {
  readonly store: EpcisStore;
  readonly mirror: MirrorStore | Database;
  readonly allowPrivate: boolean;
  readonly treeCacheBytes?: number;
  readonly log?: Logger;
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
  readonly lookup?: Lookup;
}

export interface Deliverer {
  /** One turn over every subscription; returns the number of documents sent. */
  runOnce(): Promise<number>;
  close(): void;
}

export function createDeliverer(deps: DelivererDeps): Deliverer {
  const now = deps.now ?? Date.now;
  const send = deps.fetch ?? fetch;
  const mirror = createMirror(deps.mirror, { treeCacheBytes: deps.treeCacheBytes ?? 16 * 2 ** 20 });
  const index = createEpcisQueryStore(deps.store);
  const named = createNamedQueryStore(deps.store);
  const proofs = createProofs({ mirror, anchored: createAnchoredLookup(deps.mirror, mirror.records) });
  /** Scheduled subscriptions whose schedule fired and that have not been served since. */
  const firing = new Set<string>();
  let lastTick = Math.floor(now() / 1000);

  const fireSchedules = (subscriptions: readonly Subscription[]): void => {
    const second = Math.floor(now() / 1000);
    // At most two minutes of missed seconds are looked at (a stalled loop fires each schedule once).
    const from = Math.max(lastTick + 1, second - 120);
    lastTick = second;
    for (const s of subscriptions) {
      if (s.stream || s.schedule === null) continue;
      const schedule = parseSchedule((s.schedule as unknown as StoredSchedule).schedule);
      for (let t = from; t <= second; t++) {
        if (!scheduleFires(schedule, new Date(t * 1000))) continue;
        firing.add(s.subscriptionId);
        break;
      }
    }
  };

  /** The events to send now: earlier claims first, else newly anchored matches (claimed here). */
  const eventsFor = async (s: Subscription, filter: EventFilter): Promise<StoredEvent[] | undefined> => {
    const claimed = await index.events({ ...filter, claimedBy: s.subscriptionId }, 0, BATCH);
    if (claimed.length > 0) return claimed;
    if (!s.stream && !firing.has(s.subscriptionId)) return undefined;
    const from = Math.max(filter.recordTimeGe ?? 0, s.createdAt);
    const fresh = await index.events(
      { ...filter, recordTimeGe: from, notDeliveredTo: s.subscriptionId, anchoredOnly: true },
      0,
      BATCH,
    );
    const found = await proofs(fresh);
    const anchored = fresh.filter((_, i) => found[i] !== null);
    await named.claim(
      s.subscriptionId,
      anchored.map((e) => e.seq),
    );
    return anchored;
  };

  const deliver = async (s: Subscription, queryName: string, events: readonly StoredEvent[]): Promise<void> => {
    const body = JSON.stringify(
      queryDocument(queryName, eventsWithProofs(events, await proofs(events)), { subscriptionId: s.subscriptionId }),
    );
    const headers: Record<string, string> = { "content-type": "application/json", "GS1-EPCIS-Version": "2.0.0" };
    if (s.signatureToken !== null)
      headers["GS1-Signature"] = createHmac("sha256", s.signatureToken).update(body).digest("hex");
    await checkDestination(s.dest, {
      allowPrivate: deps.allowPrivate,
      ...(deps.lookup === undefined ? {} : { lookup: deps.lookup }),
    });
    const response = await send(s.dest, {
      method: "POST",
      headers,
      body,
      redirect: "error",
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (response.status < 200 || response.status >= 300) throw new Error(`subscriber answered ${response.status}`);
  };

  return {
    async runOnce() {
      const subscriptions = await named.allSubscriptions();
      fireSchedules(subscriptions);
      let sent = 0;
      for (const s of subscriptions) {
        if (s.nextAttemptAt > now()) continue;
        const query = await named.getQuery(s.queryName);
        if (query === undefined) continue;
        const { filter } = parseEventQuery(query.query);
        const events = await eventsFor(s, filter);
        if (events === undefined) continue;
        const reportIfEmpty = (s.schedule as unknown as StoredSchedule | null)?.reportIfEmpty === true;
        if (events.length === 0 && !(firing.has(s.subscriptionId) && reportIfEmpty)) {
          firing.delete(s.subscriptionId);
          continue;
        }
        try {
          await deliver(s, s.queryName, events);
          await named.delivered(s.subscriptionId, now());
          // A scheduled run ends when it has sent everything it found.
          if (events.length < BATCH) firing.delete(s.subscriptionId);
          sent++;
        } catch (error) {
          const wait = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(s.attempts + 1, 22));
          const message = error instanceof Error ? error.message : String(error);
          await named.failed(s.subscriptionId, now() + wait, message);
          deps.log?.warn(
            { subscription: s.subscriptionId, err: message, retryInMs: wait },
            "subscription delivery failed",
          );
        }
      }
      return sent;
    },
    close: () => mirror.close(),
  };
}

/** Runs the deliverer every `intervalMs` while `leads()` (PostgreSQL: one replica delivers). */
export function startDeliverer(deps: DelivererDeps & { readonly intervalMs: number; readonly leads: () => boolean }): {
  stop(): Promise<void>;
} {
  const deliverer = createDeliverer(deps);
  const loop = startJobLoop({
    pass: () => deliverer.runOnce(),
    intervalMs: deps.intervalMs,
    leads: deps.leads,
    ...(deps.log === undefined ? {} : { log: deps.log }),
    failure: "subscription delivery turn failed; retrying",
  });
  return {
    async stop() {
      await loop.stop();
      deliverer.close();
    },
  };
}
