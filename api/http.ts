/**
 * HTTP helpers shared by the routes: content negotiation for the Digital Link resolver (media type,
 * language), strong ETags with conditional GET, and the cache policies.
 */
import { createHash } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";

export type ItemFormat = "json" | "linkset" | "html";

const MEDIA: readonly { type: string; format: ItemFormat }[] = [
  { type: "application/json", format: "json" },
  { type: "application/linkset+json", format: "linkset" },
  { type: "text/html", format: "html" },
];

/** The `q` of an Accept-style entry's parameters, clamped to 0..1; 1 when absent, 0 when malformed. */
function qualityOf(params: readonly string[]): number {
  let q = 1;
  for (const param of params) {
    const [name = "", value = ""] = param.split("=");
    if (name.trim().toLowerCase() === "q") {
      const parsed = Number.parseFloat(value.trim());
      q = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), 1) : 0;
    }
  }
  return q;
}

/**
 * The representation an Accept header prefers among JSON, linkset and HTML; JSON when nothing
 * matches or the header is absent or malformed. Exact types beat wildcards at equal q.
 */
export function negotiate(accept: string | undefined): ItemFormat {
  if (accept === undefined || accept.length === 0 || accept.length > 2000) return "json";
  let best: { format: ItemFormat; q: number; specificity: number } | undefined;
  for (const part of accept.split(",")) {
    const [rawType = "", ...params] = part.split(";");
    const type = rawType.trim().toLowerCase();
    const q = qualityOf(params);
    if (q <= 0) continue;
    for (const media of MEDIA) {
      const specificity =
        type === media.type ? 2 : type === `${media.type.split("/")[0]}/*` ? 1 : type === "*/*" ? 0 : -1;
      if (specificity < 0) continue;
      if (best === undefined || q > best.q || (q === best.q && specificity > best.specificity))
        best = { format: media.format, q, specificity };
    }
  }
  return best?.format ?? "json";
}

/**
 * The language tags of an Accept-Language header, lower case, most wanted first (by q, then order);
 * none for an absent, malformed or overlong header. `*` and q=0 entries are left out.
 */
export function acceptedLanguages(header: string | undefined): string[] {
  if (header === undefined || header.length === 0 || header.length > 500) return [];
  const tags: { tag: string; q: number; at: number }[] = [];
  header.split(",").forEach((part, at) => {
    const [rawTag = "", ...params] = part.split(";");
    const tag = rawTag.trim().toLowerCase();
    if (!/^[a-z]{1,8}(?:-[a-z0-9]{1,8})*$/.test(tag)) return;
    const q = qualityOf(params);
    if (q > 0) tags.push({ tag, q, at });
  });
  return tags.sort((a, b) => b.q - a.q || a.at - b.at).map((t) => t.tag);
}

export const IMMUTABLE = "public, max-age=31536000, immutable";
export const REVALIDATE = "no-cache";

/** `"` + base64url(sha256(body))[0..27] + `"`: a strong validator of the exact bytes. */
export function strongEtag(body: string): string {
  return `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
}

/** Whether If-None-Match names `etag` (or is `*`). Weak comparison, as RFC 9110 prescribes for If-None-Match. */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === "*") return true;
  const opaque = etag.replace(/^W\//, "");
  return ifNoneMatch.split(",").some((tag) => tag.trim().replace(/^W\//, "") === opaque);
}

/**
 * Serialises `body` with the route's response schema, sets a strong ETag and the cache policy, and
 * answers 304 when the client already has it. Immutable caching only for data of final anchors.
 */
export function sendCacheable(
  request: FastifyRequest,
  reply: FastifyReply,
  body: unknown,
  immutable: boolean,
): FastifyReply {
  const text = reply.serialize(body);
  if (typeof text !== "string") throw new TypeError("response serializer returned bytes");
  const etag = strongEtag(text);
  reply.header("etag", etag).header("cache-control", immutable ? IMMUTABLE : REVALIDATE);
  if (etagMatches(request.headers["if-none-match"], etag)) return reply.code(304).send();
  return reply.type("application/json; charset=utf-8").send(text);
}
