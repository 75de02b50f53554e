/**
 * `traceanchor links set | remove | show`: the links a brand publishes for a GTIN (product page,
 * instructions, certificates, …). The whole set is signed (EIP-712, core/link-set) with the brand
 * admin's key and uploaded to TRACE_API_URL, which keeps it only if that key is the brand's admin on
 * chain; each change fetches the stored set first, so links of other types and languages stay.
 */
import { ValidationError } from "../../core/errors";
import { toGtin14 } from "../../core/gs1";
import {
  LINK_SET_TYPES,
  checkLink,
  linkSetDomain,
  parseLinkSet,
  type LinkSetLink,
  type LinkSetMessage,
} from "../../core/link-set";
import { ConfigError, type Config } from "../lib/config";
import { chainIdOf, contractAddress, createProvider, createSigner } from "../lib/chain";
import type { Output } from "../lib/output";
import { parseBrandId } from "./brand";

/** The API answered something other than what was asked for. */
export class LinkApiError extends Error {
  override readonly name = "LinkApiError";
}

export interface SetLinkFlags {
  brand: string;
  gtin: string;
  type: string;
  href: string;
  title: string;
  lang?: string;
  mediaType?: string;
}

export interface RemoveLinkFlags {
  brand: string;
  gtin: string;
  type: string;
  lang?: string;
}

/** A link set as GET /v1/links/{gtin} serves it, the parts the CLI reads. */
interface StoredSet {
  readonly message: LinkSetMessage;
  readonly signer: string;
  readonly signature: string;
  readonly digest: string;
  readonly current: boolean;
  readonly reason: string | undefined;
}

const FLAG_OF: Readonly<Record<string, string>> = {
  linkType: "--type",
  href: "--href",
  title: "--title",
  hreflang: "--lang",
  mediaType: "--media-type",
};

function apiOf(config: Config): string {
  if (config.apiUrl === undefined)
    throw new ConfigError("links commands need TRACE_API_URL: the TraceAnchor API that keeps link sets");
  return config.apiUrl;
}

function parseGtin(value: string): string {
  try {
    return toGtin14(value.trim(), "gtin");
  } catch (error) {
    if (error instanceof ValidationError) throw new ConfigError(`--gtin: ${error.reason}`, { cause: error });
    throw error;
  }
}

/** The link the flags describe, refused with the flag's name in the message. */
function linkFromFlags(flags: SetLinkFlags): LinkSetLink {
  try {
    return checkLink(
      {
        linkType: flags.type,
        href: flags.href,
        title: flags.title,
        hreflang: flags.lang ?? "",
        mediaType: flags.mediaType ?? "",
      },
      "link",
    );
  } catch (error) {
    if (error instanceof ValidationError) {
      const key = error.field?.replace(/^link\./, "") ?? "";
      throw new ConfigError(`${FLAG_OF[key] ?? key}: ${error.reason}`, { cause: error });
    }
    throw error;
  }
}

async function errorText(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown };
    if (typeof body.message === "string")
      return `${typeof body.error === "string" ? `${body.error}: ` : ""}${body.message}`;
  } catch {
    // Not our JSON error body (a proxy's page): show the start of it.
  }
  return text.slice(0, 300);
}

function storedSetOf(body: unknown, url: string): StoredSet {
  const doc = (typeof body === "object" && body !== null ? body : {}) as {
    typedData?: { message?: unknown };
    signer?: unknown;
    signature?: unknown;
    digest?: unknown;
    current?: unknown;
    reason?: unknown;
  };
  if (
    typeof doc.signer !== "string" ||
    typeof doc.signature !== "string" ||
    typeof doc.digest !== "string" ||
    typeof doc.current !== "boolean"
  ) {
    throw new LinkApiError(`${url} did not answer with a link set document`);
  }
  let message: LinkSetMessage;
  try {
    message = parseLinkSet(doc.typedData?.message);
  } catch (error) {
    throw new LinkApiError(
      `${url} served a link set that does not check: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return {
    message,
    signer: doc.signer,
    signature: doc.signature,
    digest: doc.digest,
    current: doc.current,
    reason: typeof doc.reason === "string" ? doc.reason : undefined,
  };
}

async function fetchStored(api: string, gtin: string): Promise<StoredSet | undefined> {
  const url = `${api}/v1/links/${gtin}`;
  const response = await fetch(url, { headers: { accept: "application/json" } });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new LinkApiError(`GET ${url} failed: HTTP ${response.status} ${await errorText(response)}`);
  return storedSetOf(await response.json(), url);
}

/** Signs the whole set as the configured key and PUTs it; the API decides whether that key may. */
async function publish(
  config: Config,
  api: string,
  brandId: bigint,
  gtin: string,
  links: readonly LinkSetLink[],
  previous: StoredSet | undefined,
): Promise<StoredSet> {
  const provider = createProvider(config);
  const chainId = await chainIdOf(provider, config);
  if (chainId > BigInt(Number.MAX_SAFE_INTEGER))
    throw new ConfigError(`chain id ${chainId} is too large for the links API`);
  const domain = linkSetDomain(chainId, await contractAddress(config, provider));
  const signer = await createSigner(config, provider);
  // Strictly newer than the stored set, even when two changes fall in the same second.
  const issuedAt = Math.max(Math.floor(Date.now() / 1000), (previous?.message.issuedAt ?? 0) + 1);
  const message = parseLinkSet({ brandId: brandId.toString(), gtin, issuedAt, links });
  const signature = await signer.signTypedData(domain, LINK_SET_TYPES, message);
  const url = `${api}/v1/links/${gtin}`;
  const response = await fetch(url, {
    method: "PUT",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({
      linkSet: message,
      signature,
      domain: {
        name: domain.name,
        version: domain.version,
        chainId: Number(chainId),
        verifyingContract: domain.verifyingContract,
      },
    }),
  });
  if (!response.ok)
    throw new LinkApiError(`the API refused the link set: HTTP ${response.status} ${await errorText(response)}`);
  return storedSetOf(await response.json(), url);
}

/** The stored links a change starts from: none if the set is another brand's. */
function baseLinks(stored: StoredSet | undefined, brandId: bigint, out: Output): LinkSetLink[] {
  if (stored === undefined) return [];
  if (stored.message.brandId !== brandId.toString()) {
    out.note(`the stored link set is brand ${stored.message.brandId}'s: brand ${brandId} starts a new one`);
    return [];
  }
  if (!stored.current)
    out.note(
      `note: the stored link set is not served (${stored.reason ?? "unknown reason"}); signing it again with this key`,
    );
  return [...stored.message.links];
}

const sameSlot = (a: LinkSetLink, type: string, lang: string): boolean =>
  a.linkType === type && a.hreflang.toLowerCase() === lang.toLowerCase();

function report(out: Output, api: string, set: StoredSet, verb: "published " | ""): void {
  const { message } = set;
  out.info(
    `${verb}the link set of ${message.gtin} for brand ${message.brandId}: ${message.links.length} link${message.links.length === 1 ? "" : "s"}, signed by ${set.signer}`,
  );
  for (const link of message.links) {
    out.info(
      `  ${link.linkType}  ${link.hreflang || "-"}  ${link.href}  "${link.title}"${link.mediaType ? `  (${link.mediaType})` : ""}`,
    );
  }
  if (!set.current) out.info(`not served by the resolver: ${set.reason ?? "unknown reason"}`);
  out.jsonOnly({
    gtin: message.gtin,
    brandId: message.brandId,
    issuedAt: message.issuedAt,
    signer: set.signer,
    signature: set.signature,
    digest: set.digest,
    current: set.current,
    ...(set.reason === undefined ? {} : { reason: set.reason }),
    links: message.links,
    url: `${api}/v1/links/${message.gtin}`,
  });
}

export async function setLinkCommand(config: Config, flags: SetLinkFlags, out: Output): Promise<void> {
  const brandId = parseBrandId(flags.brand);
  const gtin = parseGtin(flags.gtin);
  const link = linkFromFlags(flags);
  const api = apiOf(config);
  const stored = await fetchStored(api, gtin);
  const links = baseLinks(stored, brandId, out);
  const at = links.findIndex((l) => sameSlot(l, link.linkType, link.hreflang));
  if (at >= 0) links[at] = link;
  else links.push(link);
  report(out, api, await publish(config, api, brandId, gtin, links, stored), "published ");
}

export async function removeLinkCommand(config: Config, flags: RemoveLinkFlags, out: Output): Promise<void> {
  const brandId = parseBrandId(flags.brand);
  const gtin = parseGtin(flags.gtin);
  const api = apiOf(config);
  const stored = await fetchStored(api, gtin);
  if (stored === undefined) throw new ConfigError(`no link set is stored for ${gtin}`);
  const links = baseLinks(stored, brandId, out);
  // Without --lang, every language of the type goes.
  const kept = links.filter((l) =>
    flags.lang === undefined ? l.linkType !== flags.type : !sameSlot(l, flags.type, flags.lang),
  );
  if (kept.length === links.length) {
    throw new ConfigError(
      `the link set of ${gtin} has no ${flags.type} link${flags.lang === undefined ? "" : ` in "${flags.lang}"`}`,
    );
  }
  report(out, api, await publish(config, api, brandId, gtin, kept, stored), "published ");
}

export async function showLinksCommand(config: Config, flags: { gtin: string }, out: Output): Promise<void> {
  const gtin = parseGtin(flags.gtin);
  const api = apiOf(config);
  const stored = await fetchStored(api, gtin);
  if (stored === undefined) throw new ConfigError(`no link set is stored for ${gtin} at ${api}`);
  report(out, api, stored, "");
}
