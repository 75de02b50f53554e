/**
 * `traceanchor audit`: checks every anchor against the chain and the published contents, trusting
 * neither our API nor our index. It reads the contract's events straight from an RPC, replays them,
 * fetches each batch's content (content dir, contentURI, or an API's record pages), rebuilds every
 * root and leafCount, cross-checks the events with the contract's storage (anchors, revocations,
 * prefixes, submitters), and, given the indexer's database, compares it row by row. Any discrepancy
 * makes the exit code non-zero and is listed with its batch root.
 */
import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { JsonRpcProvider } from "ethers";
import { checkContent, openContentFile } from "../../core/content";
import { gtinMatchesPrefix } from "../../core/gs1";
import { buildTree } from "../../core/merkle";
import { canonicalRecord, parseRecord, recordHash, recordHashInto, type RecordKind } from "../../core/record";
import { TraceAnchor__factory } from "../../typechain-types";
import { decodeLog, roleLabel } from "../../mirror/decode";
import { createChainClient, type ChainLog } from "../../indexer/rpc";
import { LogRangeTooLargeError } from "../../indexer/errors";
import { createContentSource } from "../../indexer/content-source";
import { ConfigError, type Config } from "../lib/config";
import { chainIdOf, contractAddress, explorerTxUrl } from "../lib/chain";
import { readDeployment } from "../lib/deployments";
import type { Output } from "../lib/output";
import { openMirrorAudit, type MirrorAudit } from "../../mirror/read/audit";
import { lift, type Async } from "../../mirror/async";
import { engineOf } from "../../mirror/engine";
import { openPgMirrorAudit } from "../../mirror/pg/audit";

export interface AuditFlags {
  brand?: string;
  fromBlock?: string;
  api?: string;
  db?: string;
  allowMissing?: boolean;
}

interface ChainAnchor {
  brandId: string;
  root: string;
  kind: RecordKind;
  leafCount: number;
  contentURI: string;
  submitter: string;
  submitterRole: string | null;
  txHash: string;
  blockNumber: number;
  logIndex: number;
  revoked: boolean;
  revokeReason?: string;
}

export interface Issue {
  brandId?: string;
  root?: string;
  source: "content" | "chain" | "db";
  reason: string;
  explorerTxUrl?: string;
}

export interface AuditReport {
  chainId: string;
  contract: string;
  fromBlock: number;
  toBlock: number;
  events: number;
  anchorsChecked: number;
  ok: number;
  contentMissing: number;
  mismatches: Issue[];
  discrepancies: Issue[];
  findings: Issue[];
  rows: Array<{
    brandId: string;
    root: string;
    kind: RecordKind;
    leafCount: number;
    revoked: boolean;
    content: string;
    explorerTxUrl?: string;
  }>;
}

const KIND_NAMES: Record<string, RecordKind> = { "1": "identity", "2": "trace" };

async function fetchLogs(rpcUrl: string, address: string, from: number, to: number): Promise<ChainLog[]> {
  const client = createChainClient(new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1 }));
  const logs: ChainLog[] = [];
  let size = 10_000;
  for (let start = from; start <= to;) {
    const end = Math.min(to, start + size - 1);
    try {
      logs.push(...(await client.logs(address, start, end)));
      start = end + 1;
      size = Math.min(size * 2, 100_000);
    } catch (error) {
      if (error instanceof LogRangeTooLargeError && size > 1) {
        size = Math.max(1, Math.floor(size / 2));
        continue;
      }
      throw error;
    }
  }
  return logs;
}

/** The API's record pages turned back into a content file, so the same check applies. */
async function contentFromApi(api: string, anchor: ChainAnchor): Promise<Readable | undefined> {
  const lines: string[] = [JSON.stringify({ v: 1, kind: anchor.kind, root: anchor.root, leafCount: anchor.leafCount })];
  let cursor: string | null = null;
  do {
    const url = `${api}/v1/batches/${anchor.brandId}/${anchor.root}/records?limit=1000${cursor ? `&cursor=${cursor}` : ""}`;
    const response = await fetch(url, { headers: { accept: "application/json" } });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const page = (await response.json()) as { records: Array<{ record: unknown }>; nextCursor: string | null };
    for (const r of page.records) lines.push(JSON.stringify(r.record));
    cursor = page.nextCursor;
  } while (cursor);
  return Readable.from(lines.map((l) => `${l}\n`));
}

export async function runAudit(config: Config, flags: AuditFlags): Promise<AuditReport> {
  const provider = new JsonRpcProvider(config.rpcUrl, undefined, { cacheTimeout: -1 });
  const chainId = await chainIdOf(provider, config);
  const address = (await contractAddress(config, provider)).toLowerCase();
  const registry = TraceAnchor__factory.connect(address, provider);
  const deployment = readDeployment(config.deploymentsDir, chainId);
  const deployedAt = deployment?.contract.toLowerCase() === address ? deployment.blockNumber : 0;
  const fromBlock = flags.fromBlock !== undefined ? Number.parseInt(flags.fromBlock, 10) : deployedAt;
  if (!Number.isSafeInteger(fromBlock) || fromBlock < 0)
    throw new ConfigError(`--from-block must be a block number, got "${flags.fromBlock}"`);
  const onlyBrand = flags.brand;
  const toBlock = await provider.getBlockNumber();
  // Brands, prefixes and submitters need the whole history; --from-block only limits the anchors checked.
  const logs = await fetchLogs(config.rpcUrl, address, Math.min(fromBlock, deployedAt), toBlock);

  // Replay the events: the history the contract published, independent of any database.
  const prefixes = new Map<string, string>();
  const submitters = new Map<string, string | null>();
  const brands = new Map<string, { name: string; admin: string }>();
  const anchors = new Map<string, ChainAnchor>();
  const discrepancies: Issue[] = [];
  const mismatches: Issue[] = [];
  const findings: Issue[] = [];
  const key = (brandId: string, root: string): string => `${brandId}/${root.toLowerCase()}`;
  for (const log of logs) {
    const { event } = decodeLog(log.topics, log.data);
    if (!event) continue;
    const a = event.args as unknown as Record<string, unknown>;
    const brandId = String(a.brandId);
    switch (event.name) {
      case "BrandRegistered":
        brands.set(brandId, { name: String(a.name), admin: String(a.admin).toLowerCase() });
        break;
      case "BrandAdminTransferred":
        brands.set(brandId, { name: brands.get(brandId)?.name ?? "", admin: String(a.newAdmin).toLowerCase() });
        break;
      case "PrefixAssigned":
        prefixes.set(String(a.prefix), brandId);
        break;
      case "PrefixReleased":
        prefixes.delete(String(a.prefix));
        break;
      case "SubmitterRoleSet":
        submitters.set(`${brandId}/${String(a.account).toLowerCase()}`, roleLabel(String(a.role)));
        break;
      case "SubmitterRemoved":
        submitters.delete(`${brandId}/${String(a.account).toLowerCase()}`);
        break;
      case "Anchored": {
        const submitter = String(a.submitter).toLowerCase();
        const k = key(brandId, String(a.root));
        if (!submitters.has(`${brandId}/${submitter}`)) {
          discrepancies.push({
            brandId,
            root: String(a.root),
            source: "chain",
            reason: `anchored by ${submitter}, who was not a submitter of brand ${brandId} at block ${log.blockNumber}`,
          });
        }
        if (anchors.has(k))
          discrepancies.push({ brandId, root: String(a.root), source: "chain", reason: "anchored twice" });
        anchors.set(k, {
          brandId,
          root: String(a.root).toLowerCase(),
          kind: KIND_NAMES[String(a.kind)] ?? "identity",
          leafCount: Number(a.leafCount),
          contentURI: String(a.contentURI),
          submitter,
          submitterRole: submitters.get(`${brandId}/${submitter}`) ?? null,
          txHash: log.txHash,
          blockNumber: log.blockNumber,
          logIndex: log.logIndex,
          revoked: false,
        });
        break;
      }
      case "Revoked": {
        const anchor = anchors.get(key(brandId, String(a.root)));
        if (!anchor)
          discrepancies.push({
            brandId,
            root: String(a.root),
            source: "chain",
            reason: "revoked without an Anchored event",
          });
        else Object.assign(anchor, { revoked: true, revokeReason: String(a.reason) });
        break;
      }
      default:
        break;
    }
  }

  // The contract's storage must say what its events say.
  for (const [prefix, brandId] of prefixes) {
    const owner = (await registry.brandOfPrefix(prefix)).toString();
    if (owner !== brandId)
      discrepancies.push({
        brandId,
        source: "chain",
        reason: `events give prefix ${prefix} to brand ${brandId}, storage says ${owner}`,
      });
  }
  for (const [k, role] of submitters) {
    const [brandId, account] = k.split("/") as [string, string];
    const stored = roleLabel(await registry.submitterRole(brandId, account));
    if (stored !== role)
      discrepancies.push({
        brandId,
        source: "chain",
        reason: `submitter ${account}: events say role ${role}, storage says ${stored}`,
      });
  }

  const source = createContentSource({ contentDir: config.contentDir, maxBytes: 4 * 2 ** 30, timeoutMs: 30_000 });
  const rows: AuditReport["rows"] = [];
  let ok = 0;
  let contentMissing = 0;
  const selected = [...anchors.values()].filter(
    (a) => (onlyBrand === undefined || a.brandId === onlyBrand) && a.blockNumber >= fromBlock,
  );
  for (const anchor of selected) {
    const link = explorerTxUrl(config, anchor.txHash);
    const issue = (src: Issue["source"], reason: string): Issue => ({
      brandId: anchor.brandId,
      root: anchor.root,
      source: src,
      reason,
      ...(link ? { explorerTxUrl: link } : {}),
    });
    const stored = await registry.anchorOf(anchor.brandId, anchor.root);
    if (
      stored.anchoredAt === 0n ||
      KIND_NAMES[stored.kind.toString()] !== anchor.kind ||
      Number(stored.leafCount) !== anchor.leafCount
    ) {
      discrepancies.push(
        issue(
          "chain",
          `storage anchor (kind ${stored.kind}, leafCount ${stored.leafCount}) differs from the Anchored event`,
        ),
      );
    }
    if ((stored.revokedAt !== 0n) !== anchor.revoked)
      discrepancies.push(
        issue("chain", `storage says revoked=${stored.revokedAt !== 0n}, events say ${anchor.revoked}`),
      );

    let stream: NodeJS.ReadableStream | undefined;
    let where = "";
    try {
      stream = await source.open({ brandId: anchor.brandId, root: anchor.root, contentUri: anchor.contentURI });
      where = "content";
      if (!stream && flags.api) {
        stream = await contentFromApi(flags.api, anchor);
        where = "api";
      }
    } catch (error) {
      stream = undefined;
      where = error instanceof Error ? error.message : String(error);
    }
    let status: string;
    if (!stream) {
      contentMissing++;
      status = "missing";
      if (where && where !== "content" && where !== "api")
        findings.push(issue("content", `content unavailable: ${where}`));
    } else {
      const check = await checkContent(
        { input: stream, file: anchor.root },
        { root: anchor.root, kind: anchor.kind, leafCount: anchor.leafCount },
      );
      if (check.ok) {
        ok++;
        status = `ok (${where})`;
        if (anchor.kind === "identity" && where === "content") {
          const foreign = await foreignGtins(source, anchor, prefixes);
          if (foreign > 0)
            findings.push(
              issue(
                "content",
                `${foreign} item(s) have GTINs outside brand ${anchor.brandId}'s prefixes (they will show prefix-mismatch)`,
              ),
            );
        }
      } else {
        status = "MISMATCH";
        mismatches.push(issue("content", check.reason));
      }
    }
    rows.push({
      brandId: anchor.brandId,
      root: anchor.root,
      kind: anchor.kind,
      leafCount: anchor.leafCount,
      revoked: anchor.revoked,
      content: status,
      ...(link ? { explorerTxUrl: link } : {}),
    });
  }

  if (flags.db)
    discrepancies.push(
      ...(await compareDatabase(
        engineOf(flags.db) === "postgres" ? flags.db : path.resolve(config.cwd, flags.db),
        anchors,
        prefixes,
        submitters,
        onlyBrand,
        config,
      )),
    );

  return {
    chainId: chainId.toString(),
    contract: address,
    fromBlock,
    toBlock,
    events: logs.length,
    anchorsChecked: selected.length,
    ok,
    contentMissing,
    mismatches,
    discrepancies,
    findings,
    rows,
  };
}

async function foreignGtins(
  source: ReturnType<typeof createContentSource>,
  anchor: ChainAnchor,
  prefixes: Map<string, string>,
): Promise<number> {
  const stream = await source.open({ brandId: anchor.brandId, root: anchor.root, contentUri: anchor.contentURI });
  if (!stream) return 0;
  const owned = [...prefixes].filter(([, b]) => b === anchor.brandId).map(([p]) => p);
  const reader = await openContentFile({ input: stream, file: anchor.root });
  let foreign = 0;
  for await (const { record } of reader.records) {
    if (record.kind === "identity" && !owned.some((p) => gtinMatchesPrefix(record.item.gtin, p))) foreign++;
  }
  return foreign;
}

/** The mirror's rows at `location`: a SQLite file, or a postgres:// URL. */
async function openAudit(location: string): Promise<Async<MirrorAudit>> {
  if (engineOf(location) === "postgres") return openPgMirrorAudit(location);
  if (!fs.existsSync(location)) throw new ConfigError(`--db: no database at ${location}`);
  return lift(openMirrorAudit(location));
}

/** The indexer's database against the chain: every anchor, prefix and submitter, and every stored record. */
async function compareDatabase(
  location: string,
  anchors: Map<string, ChainAnchor>,
  prefixes: Map<string, string>,
  submitters: Map<string, string | null>,
  onlyBrand: string | undefined,
  config: Config,
): Promise<Issue[]> {
  const db = await openAudit(location);
  const issues: Issue[] = [];
  try {
    const rows = await db.anchors();
    const seen = new Set<string>();
    for (const row of rows) {
      const brandId = String(row.brand_id);
      if (onlyBrand !== undefined && brandId !== onlyBrand) continue;
      const k = `${brandId}/${row.root.toLowerCase()}`;
      seen.add(k);
      const chain = anchors.get(k);
      const dbIssue = (reason: string): Issue => {
        const link = chain ? explorerTxUrl(config, chain.txHash) : undefined;
        return { brandId, root: row.root, source: "db", reason, ...(link ? { explorerTxUrl: link } : {}) };
      };
      if (!chain) {
        issues.push(dbIssue("the database holds an anchor the chain does not have"));
        continue;
      }
      const diffs: string[] = [];
      if (KIND_NAMES[String(row.kind)] !== chain.kind) diffs.push(`kind ${row.kind}`);
      if (row.leaf_count !== chain.leafCount) diffs.push(`leafCount ${row.leaf_count} ≠ ${chain.leafCount}`);
      if (row.content_uri !== chain.contentURI) diffs.push("contentURI");
      if (row.submitter.toLowerCase() !== chain.submitter) diffs.push(`submitter ${row.submitter}`);
      if (row.tx_hash.toLowerCase() !== chain.txHash.toLowerCase()) diffs.push("txHash");
      if (row.block_number !== chain.blockNumber) diffs.push(`block ${row.block_number} ≠ ${chain.blockNumber}`);
      if ((row.revoked_at_block !== null) !== chain.revoked)
        diffs.push(`revoked ${row.revoked_at_block !== null} ≠ ${chain.revoked}`);
      if (chain.revoked && row.revoke_reason !== chain.revokeReason) diffs.push("revoke reason");
      if (diffs.length > 0) issues.push(dbIssue(`anchor row differs from the chain: ${diffs.join(", ")}`));

      if (row.content_status === "ok") {
        const records = await db.records(row.brand_id, row.root);
        if (records.length !== chain.leafCount) {
          issues.push(dbIssue(`database holds ${records.length} records, the anchor has ${chain.leafCount}`));
          continue;
        }
        const hashes = new Uint8Array(records.length * 32);
        let bad: string | undefined;
        records.forEach((r, i) => {
          let canonical: string;
          try {
            // The indexer stored it after parseRecord; one that no longer parses is itself a finding.
            canonical = canonicalRecord(parseRecord(JSON.parse(r.record)));
          } catch (e) {
            bad ??=
              e instanceof SyntaxError
                ? `record ${r.leaf_index} is not valid JSON`
                : `record ${r.leaf_index} is not a valid record: ${e instanceof Error ? e.message : String(e)}`;
            return;
          }
          recordHashInto(canonical, hashes, i * 32);
          if (Buffer.compare(Buffer.from(hashes.subarray(i * 32, i * 32 + 32)), r.record_hash) !== 0)
            bad ??= `record ${r.leaf_index}: stored hash ${r.record_hash.toString("hex").slice(0, 12)}… is not the hash of the stored record ${recordHash(canonical).slice(0, 14)}…`;
        });
        if (bad) issues.push(dbIssue(bad));
        else if (buildTree(hashes).root !== chain.root)
          issues.push(dbIssue("the stored records do not rebuild the anchored root"));
      }
    }
    for (const [k, chain] of anchors) {
      if (onlyBrand !== undefined && chain.brandId !== onlyBrand) continue;
      if (!seen.has(k))
        issues.push({
          brandId: chain.brandId,
          root: chain.root,
          source: "db",
          reason: "anchored on chain but missing from the database",
        });
    }
    const dbPrefixes = new Map((await db.prefixes()).map((r) => [r.prefix, String(r.brand_id)]));
    for (const [prefix, brandId] of prefixes)
      if (dbPrefixes.get(prefix) !== brandId)
        issues.push({
          brandId,
          source: "db",
          reason: `prefix ${prefix}: database says brand ${dbPrefixes.get(prefix) ?? "none"}`,
        });
    for (const [prefix, brandId] of dbPrefixes)
      if (!prefixes.has(prefix))
        issues.push({ brandId, source: "db", reason: `prefix ${prefix} is in the database but not assigned on chain` });
    const dbSubmitters = new Map(
      (await db.submitters()).map((r) => [`${r.brand_id}/${r.account.toLowerCase()}`, r.role]),
    );
    for (const [k, role] of submitters)
      if (dbSubmitters.get(k) !== role)
        issues.push({
          brandId: k.split("/")[0]!,
          source: "db",
          reason: `submitter ${k.split("/")[1]}: database role ${dbSubmitters.get(k) ?? "none"}, chain ${role}`,
        });
    for (const k of dbSubmitters.keys())
      if (!submitters.has(k))
        issues.push({
          brandId: k.split("/")[0]!,
          source: "db",
          reason: `submitter ${k.split("/")[1]} is in the database but not on chain`,
        });
  } finally {
    await db.close();
  }
  return issues;
}

export async function auditCommand(config: Config, flags: AuditFlags, out: Output): Promise<number> {
  const report = await runAudit(config, flags);
  out.info(
    `audit of TraceAnchor ${report.contract} on chain ${report.chainId}, blocks ${report.fromBlock}–${report.toBlock} (${report.events} events)`,
  );
  out.info("");
  out.info(
    `${"brand".padEnd(6)}${"kind".padEnd(10)}${"leaves".padStart(9)}  ${"revoked".padEnd(8)}${"content".padEnd(16)}root`,
  );
  for (const r of report.rows) {
    out.info(
      `${r.brandId.padEnd(6)}${r.kind.padEnd(10)}${String(r.leafCount).padStart(9)}  ${(r.revoked ? "yes" : "no").padEnd(8)}${r.content.padEnd(16)}${r.root}`,
    );
  }
  out.info("");
  for (const i of [...report.mismatches, ...report.discrepancies])
    out.info(
      `DISCREPANCY [${i.source}] brand ${i.brandId ?? "-"} ${i.root ?? ""}: ${i.reason}${i.explorerTxUrl ? ` (${i.explorerTxUrl})` : ""}`,
    );
  for (const i of report.findings)
    out.info(`finding [${i.source}] brand ${i.brandId ?? "-"} ${i.root ?? ""}: ${i.reason}`);
  out.info(
    `${report.anchorsChecked} anchors checked: ${report.ok} ok, ${report.contentMissing} content missing, ${report.mismatches.length} mismatched; ${report.discrepancies.length} other discrepancies`,
  );
  out.jsonOnly({ ...report });
  const failed =
    report.mismatches.length > 0 ||
    report.discrepancies.length > 0 ||
    (report.contentMissing > 0 && !flags.allowMissing);
  return failed ? 3 : 0;
}
