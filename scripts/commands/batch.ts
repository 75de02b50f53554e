/** `traceanchor batch build | submit | revoke`: a brand's batches, from input file to anchored root. */
import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { Signer } from "ethers";
import { Wallet } from "ethers";
import type { TraceAnchor } from "../../typechain-types";
import type { BatchFormat } from "../../core/readers/types";
import type { BuildBatchResult } from "../../core/batch";
import { KIND_CODE, type RecordKind } from "../../core/record";
import { ANCHOR_TYPES, anchorDomain } from "../../core/anchor-signature";
import { ConfigError, type Config } from "../lib/config";
import {
  ChainError,
  chainIdOf,
  confirm,
  connectRegistry,
  createProvider,
  createSigner,
  explorerTxUrl,
} from "../lib/chain";
import { journalKey, readJournal, sha256File, writeJournal, type JournalEntry } from "../lib/journal";
import type { Output } from "../lib/output";
import { createProgress } from "../lib/progress";
import { parseBrandId } from "./brand";

export interface BuildFlags {
  kind: string;
  input: string;
  format?: string;
  out?: string;
  skipInvalid?: string;
}

export function parseKind(value: string): RecordKind {
  if (value !== "identity" && value !== "trace")
    throw new ConfigError(`--kind must be identity or trace, got "${value}"`);
  return value;
}

function parseFormat(value: string | undefined): BatchFormat | undefined {
  if (value === undefined) return undefined;
  if (value !== "csv" && value !== "ndjson" && value !== "epcis") {
    throw new ConfigError(`--format must be csv, ndjson or epcis, got "${value}"`);
  }
  return value;
}

function checkInput(config: Config, input: string): string {
  const file = path.resolve(config.cwd, input);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new ConfigError(`--input: no file at ${input}`);
  return file;
}

async function build(config: Config, flags: BuildFlags, outDir: string, out: Output): Promise<BuildBatchResult> {
  const { buildBatch } = await import("../../core/batch");
  const kind = parseKind(flags.kind);
  const input = checkInput(config, flags.input);
  const progress = await createProgress(out, path.basename(input));
  try {
    return await buildBatch({
      kind,
      input,
      outDir,
      ...(flags.format === undefined ? {} : { format: parseFormat(flags.format) }),
      ...(flags.skipInvalid === undefined ? {} : { skipInvalid: path.resolve(config.cwd, flags.skipInvalid) }),
      onProgress: (p) => progress.update(p),
    });
  } finally {
    progress.stop();
  }
}

function reportRejects(result: BuildBatchResult, out: Output): void {
  if (result.rejected > 0) out.note(`${result.rejected} invalid record(s) skipped; reasons in ${result.rejects}`);
}

export async function buildCommand(config: Config, flags: BuildFlags & { out: string }, out: Output): Promise<void> {
  const result = await build(config, flags, path.resolve(config.cwd, flags.out), out);
  reportRejects(result, out);
  out.info(`built ${result.kind} batch of ${result.leafCount} records, root ${result.root}`);
  out.result({
    root: result.root,
    leafCount: result.leafCount,
    kind: result.kind,
    content: result.content,
    rejected: result.rejected,
    ...(result.rejects === undefined ? {} : { rejects: result.rejects }),
  });
}

export interface SubmitFlags extends BuildFlags {
  brand: string;
  relay?: boolean;
  contentUri?: string;
}

interface AnchorRequest {
  root: string;
  kind: number;
  leafCount: number;
  contentURI: string;
}

async function sendAnchor(
  config: Config,
  registry: TraceAnchor,
  signer: Signer,
  brandId: bigint,
  request: AnchorRequest,
  relay: boolean,
  chainId: bigint,
): Promise<{ hash: string; blockNumber: number }> {
  if (!relay) return confirm(await registry.anchor(brandId, request), config, chainId);
  if (!config.relayerKey)
    throw new ConfigError("--relay needs TRACE_RELAYER_KEY: the key of the account that pays the gas");
  const provider = registry.runner?.provider;
  if (!provider) throw new Error("registry has no provider");
  const relayer = new Wallet(config.relayerKey, provider);
  const submitter = await signer.getAddress();
  const latest = await provider.getBlock("latest");
  const deadline = BigInt((latest?.timestamp ?? Math.floor(Date.now() / 1000)) + 3600);
  const nonce = await registry.nonces(submitter);
  const domain = anchorDomain(chainId, await registry.getAddress());
  const signature = await signer.signTypedData(domain, ANCHOR_TYPES, {
    brandId,
    ...request,
    submitter,
    nonce,
    deadline,
  });
  return confirm(
    await registry.connect(relayer).anchorWithSig(brandId, request, submitter, deadline, signature),
    config,
    chainId,
  );
}

/** PUT the content file to the API; the API checks it against the anchored root before keeping it. */
async function upload(config: Config, brandId: bigint, root: string, content: string, out: Output): Promise<void> {
  const url = `${config.apiUrl}/v1/batches/${brandId}/${root}/content`;
  // The API's indexer may not have seen the anchor yet: retry "unknown batch" for a while.
  for (let attempt = 0; ; attempt++) {
    const body = Readable.toWeb(fs.createReadStream(content)) as ReadableStream<Uint8Array>;
    const response = await fetch(url, {
      method: "PUT",
      body,
      headers: { "content-type": "application/x-ndjson" },
      duplex: "half",
    } as RequestInit & { duplex: "half" });
    if (response.ok) return;
    const text = await response.text();
    if (response.status === 404 && attempt < 30) {
      if (attempt === 0) out.note(`waiting for the API at ${config.apiUrl} to index the anchor…`);
      await sleep(1000);
      continue;
    }
    throw new ChainError(`upload to ${url} failed: HTTP ${response.status} ${text.slice(0, 300)}`);
  }
}

export async function submitCommand(config: Config, flags: SubmitFlags, out: Output): Promise<void> {
  const brandId = parseBrandId(flags.brand);
  const kind = parseKind(flags.kind);
  const input = checkInput(config, flags.input);

  // Everything that can fail cheaply fails before a million records are built.
  const provider = createProvider(config);
  const chainId = await chainIdOf(provider, config);
  const signer = await createSigner(config, provider);
  const registry = await connectRegistry(config, signer, provider);
  const submitter = await signer.getAddress();
  if (!(await registry.isSubmitter(brandId, submitter))) {
    throw new ConfigError(
      `${submitter} is not a submitter of brand ${brandId} (the brand admin adds it with "brand submitter")`,
    );
  }

  const inputSha256 = await sha256File(input);
  const key = journalKey(inputSha256, brandId.toString(), kind);
  let entry = readJournal(config.contentDir, key);
  if (entry && fs.existsSync(entry.content)) {
    out.note(`this file was built before: reusing batch ${entry.root}`);
  } else {
    const result = await build(config, flags, config.contentDir, out);
    reportRejects(result, out);
    // `{root}` in --content-uri names a per-batch object, e.g. s3://bucket/{root}.ndjson.
    const contentURI =
      flags.contentUri?.replaceAll("{root}", result.root) ??
      (config.apiUrl ? `${config.apiUrl}/v1/batches/${brandId}/${result.root}/content` : path.basename(result.content));
    entry = {
      inputSha256,
      brandId: brandId.toString(),
      kind,
      root: result.root,
      leafCount: result.leafCount,
      content: result.content,
      contentURI,
    };
    writeJournal(config.contentDir, key, entry);
  }

  const existing = await registry.anchorOf(brandId, entry.root);
  const alreadyAnchored = existing.anchoredAt !== 0n;
  if (alreadyAnchored) {
    out.info(`batch ${entry.root} is already anchored for brand ${brandId}: nothing new to anchor`);
  } else {
    const receipt = await sendAnchor(
      config,
      registry,
      signer,
      brandId,
      { root: entry.root, kind: KIND_CODE[kind], leafCount: entry.leafCount, contentURI: entry.contentURI },
      flags.relay === true,
      chainId,
    );
    entry = { ...entry, anchoredTx: receipt.hash, anchoredBlock: receipt.blockNumber };
    writeJournal(config.contentDir, key, entry);
    out.info(`anchored ${kind} batch of ${entry.leafCount} records for brand ${brandId}: root ${entry.root}`);
  }
  if (config.apiUrl && !entry.uploaded) {
    await upload(config, brandId, entry.root, entry.content, out);
    entry = { ...entry, uploaded: true };
    writeJournal(config.contentDir, key, entry);
    out.info(`content uploaded to ${config.apiUrl}`);
  }
  const link = entry.anchoredTx ? explorerTxUrl(config, entry.anchoredTx) : undefined;
  if (link) out.info(`explorer: ${link}`);
  out.result(summary(entry, alreadyAnchored, link));
}

function summary(entry: JournalEntry, alreadyAnchored: boolean, link: string | undefined): Record<string, unknown> {
  return {
    root: entry.root,
    leafCount: entry.leafCount,
    kind: entry.kind,
    content: entry.content,
    contentURI: entry.contentURI,
    txHash: entry.anchoredTx,
    blockNumber: entry.anchoredBlock,
    alreadyAnchored,
    explorerTxUrl: link,
  };
}

export async function revokeCommand(
  config: Config,
  flags: { brand: string; root: string; reason: string },
  out: Output,
): Promise<void> {
  const brandId = parseBrandId(flags.brand);
  if (!/^0x[0-9a-fA-F]{64}$/.test(flags.root))
    throw new ConfigError(`--root must be 0x followed by 64 hex digits, got "${flags.root}"`);
  const reason = flags.reason.trim();
  if (reason === "") throw new ConfigError("--reason must not be empty: auditors and consumers read it");
  const provider = createProvider(config);
  const chainId = await chainIdOf(provider, config);
  const signer = await createSigner(config, provider);
  const registry = await connectRegistry(config, signer, provider);
  const anchor = await registry.anchorOf(brandId, flags.root);
  if (anchor.anchoredAt === 0n) throw new ConfigError(`batch ${flags.root} is not anchored for brand ${brandId}`);
  if (anchor.revokedAt !== 0n) throw new ConfigError(`batch ${flags.root} of brand ${brandId} is already revoked`);
  const receipt = await confirm(await registry.revoke(brandId, flags.root, reason), config, chainId);
  out.info(`revoked batch ${flags.root} of brand ${brandId}`);
  out.result({
    brandId: brandId.toString(),
    root: flags.root,
    reason,
    txHash: receipt.hash,
    blockNumber: receipt.blockNumber,
    explorerTxUrl: explorerTxUrl(config, receipt.hash),
  });
}
