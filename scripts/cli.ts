/**
 * The `traceanchor` command line. Parses arguments, builds the configuration once, hands it to a
 * command module and prints; heavy modules are loaded only by the command that needs them, so the CLI
 * starts fast.
 */
import path from "node:path";
import { Command, Option } from "commander";
import { loadConfig, type ConfigFlags } from "./lib/config";
import { describeError } from "./lib/errors";
import { Output, type Io } from "./lib/output";
import type * as batchCommands from "./commands/batch";
import type * as brandCommands from "./commands/brand";
import type * as deployCommands from "./commands/deploy";
import type * as linksCommands from "./commands/links";
import type * as qrCommands from "./commands/qr";
import type * as verifyCommands from "./commands/verify";

/** The checkout: scripts/ from source, dist/scripts/ when compiled. */
const PROJECT_ROOT =
  path.basename(path.resolve(__dirname, "..")) === "dist"
    ? path.resolve(__dirname, "..", "..")
    : path.resolve(__dirname, "..");

interface GlobalFlags extends ConfigFlags {
  json?: boolean;
  verbose?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const program = new Command("traceanchor");
  let exitCode = 0;
  const context = (command: Command): { config: ReturnType<typeof loadConfig>; out: Output } => {
    const flags = command.optsWithGlobals<GlobalFlags>();
    return { config: loadConfig(io.env, flags, io.cwd), out: new Output(io, flags.json === true) };
  };

  program
    .description("Anchor product-record batches on an EVM chain and prove them to anyone")
    .option("--json", "print one JSON object as the last line, nothing decorative")
    .option("--verbose", "print stack traces on errors")
    .option("--rpc-url <url>", "JSON-RPC endpoint (TRACE_RPC_URL)")
    .option("--contract <address>", "TraceAnchor address (TRACE_CONTRACT; default deployments/<chainId>.json)")
    .option("--db <path|url>", "the mirror: a SQLite file or a postgres:// URL (TRACE_DB)")
    .option("--content-dir <dir>", "content files (TRACE_CONTENT_DIR)")
    .option("--confirmations <n>", "blocks before a transaction or row is final (TRACE_CONFIRMATIONS)")
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride()
    .showHelpAfterError();

  program
    .command("deploy")
    .description("deploy TraceAnchor and record it in deployments/<chainId>.json")
    .option("--admin <address>", "default admin (default: the deploying account)")
    .addOption(new Option("--admin-delay <seconds>", "delay of a default-admin transfer").default("259200"))
    .option(
      "--registrar <address>",
      "account given the registrar role (repeatable; default: the deployer)",
      collect,
      [],
    )
    .action(async (options: Parameters<typeof deployCommands.deploy>[1], command: Command) => {
      const { config, out } = context(command);
      const { deploy } = await import("./commands/deploy");
      await deploy(config, options, out, PROJECT_ROOT);
    });

  const brand = program.command("brand").description("brands, GS1 company prefixes and submitters");
  brand
    .command("register")
    .description("register a brand (registrar)")
    .requiredOption("--name <name>", "brand name")
    .requiredOption("--admin <address>", "the brand's admin account")
    .option("--prefix <prefix>", "GS1 company prefix to assign (repeatable)", collect, [])
    .action(async (options: Parameters<typeof brandCommands.registerBrand>[1], command: Command) => {
      const { config, out } = context(command);
      const { registerBrand } = await import("./commands/brand");
      await registerBrand(config, options, out);
    });
  brand
    .command("prefix")
    .description("assign a GS1 company prefix to a brand (registrar)")
    .requiredOption("--brand <id>", "brand id")
    .requiredOption("--prefix <prefix>", "GS1 company prefix, 6 to 12 digits")
    .action(async (options: Parameters<typeof brandCommands.assignPrefix>[1], command: Command) => {
      const { config, out } = context(command);
      const { assignPrefix } = await import("./commands/brand");
      await assignPrefix(config, options, out);
    });
  brand
    .command("submitter")
    .description("let an account submit batches for a brand, with a role label (brand admin)")
    .requiredOption("--brand <id>", "brand id")
    .requiredOption("--account <address>", "submitting account")
    .option("--role <label>", "role label: factory, logistics, quality-lab, retail, …")
    .option("--remove", "remove the account instead")
    .action(async (options: Parameters<typeof brandCommands.setSubmitter>[1], command: Command) => {
      const { config, out } = context(command);
      const { setSubmitter } = await import("./commands/brand");
      await setSubmitter(config, options, out);
    });

  const batch = program.command("batch").description("build, anchor and revoke batches of records");
  const inputOptions = (command: Command): Command =>
    command
      .requiredOption(
        "--kind <kind>",
        "identity (CSV/NDJSON of items) or trace (EPCIS 2.0 document or NDJSON of events)",
      )
      .requiredOption("--input <file>", "the batch file")
      .option("--format <format>", "csv, ndjson or epcis (default: from the file extension)")
      .option("--skip-invalid <file>", "write invalid records with their reasons to <file> and build from the rest");
  inputOptions(batch.command("build").description("build a batch offline: writes <root>.ndjson into --out"))
    .requiredOption("--out <dir>", "folder for the content file")
    .action(async (options: Parameters<typeof batchCommands.buildCommand>[1], command: Command) => {
      const { config, out } = context(command);
      const { buildCommand } = await import("./commands/batch");
      await buildCommand(config, options, out);
    });
  inputOptions(batch.command("submit").description("build a batch, store its content and anchor its root"))
    .requiredOption("--brand <id>", "brand id")
    .option("--relay", "sign an EIP-712 anchor with the brand key; TRACE_RELAYER_KEY sends it and pays the gas")
    .option(
      "--content-uri <uri>",
      "where the content will be fetched from; {root} is replaced by the root (default: <root>.ndjson, or the API when TRACE_API_URL is set)",
    )
    .action(async (options: Parameters<typeof batchCommands.submitCommand>[1], command: Command) => {
      const { config, out } = context(command);
      const { submitCommand } = await import("./commands/batch");
      await submitCommand(config, options, out);
    });
  batch
    .command("revoke")
    .description("revoke an anchored batch, permanently (brand admin)")
    .requiredOption("--brand <id>", "brand id")
    .requiredOption("--root <root>", "the batch root, 0x…")
    .requiredOption("--reason <text>", "why: shown to consumers and auditors")
    .action(async (options: Parameters<typeof batchCommands.revokeCommand>[1], command: Command) => {
      const { config, out } = context(command);
      const { revokeCommand } = await import("./commands/batch");
      await revokeCommand(config, options, out);
    });

  const links = program
    .command("links")
    .description("the links a brand publishes for a GTIN (product page, instructions, …), signed with its admin key");
  links
    .command("set")
    .description(
      "add or replace the link of one type and language, sign the whole set (brand admin) and upload it to TRACE_API_URL",
    )
    .requiredOption("--brand <id>", "brand id")
    .requiredOption("--gtin <gtin>", "GTIN-8, -12, -13 or -14 under one of the brand's prefixes")
    .requiredOption(
      "--type <linkType>",
      "GS1 link type: gs1:pip, gs1:instructions, gs1:certificationInfo, gs1:recipeInfo, …",
    )
    .requiredOption("--href <url>", "https URL of the target")
    .requiredOption("--title <text>", "title shown to people, 1 to 200 characters")
    .option("--lang <tag>", "language of the target, BCP 47 (en, pt-BR, …)")
    .option("--media-type <type>", "media type of the target (text/html, application/pdf, …)")
    .action(async (options: Parameters<typeof linksCommands.setLinkCommand>[1], command: Command) => {
      const { config, out } = context(command);
      const { setLinkCommand } = await import("./commands/links");
      await setLinkCommand(config, options, out);
    });
  links
    .command("remove")
    .description("remove a link type (every language, or only --lang), sign the rest (brand admin) and upload it")
    .requiredOption("--brand <id>", "brand id")
    .requiredOption("--gtin <gtin>", "GTIN")
    .requiredOption("--type <linkType>", "GS1 link type to remove")
    .option("--lang <tag>", "only the link in this language")
    .action(async (options: Parameters<typeof linksCommands.removeLinkCommand>[1], command: Command) => {
      const { config, out } = context(command);
      const { removeLinkCommand } = await import("./commands/links");
      await removeLinkCommand(config, options, out);
    });
  links
    .command("show")
    .description("the link set TRACE_API_URL keeps for a GTIN, with its signer")
    .requiredOption("--gtin <gtin>", "GTIN")
    .action(async (options: { gtin: string }, command: Command) => {
      const { config, out } = context(command);
      const { showLinksCommand } = await import("./commands/links");
      await showLinksCommand(config, options, out);
    });

  // EPCIS capture tokens (scripts/commands/capture.ts).
  const captureTokens = program
    .command("capture")
    .description("the EPCIS 2.0 capture interface (/epcis/capture)")
    .command("token")
    .description("bearer tokens a brand's systems capture events with");
  captureTokens
    .command("create")
    .description("make a capture token for a brand; it is printed once and stored only as a hash")
    .requiredOption("--brand <id>", "brand id")
    .option("--label <text>", "what the token is for (the ERP, a partner's WMS, …)")
    .action(async (options: { brand: string; label?: string }, command: Command) => {
      const { config, out } = context(command);
      const { createTokenCommand } = await import("./commands/capture");
      await createTokenCommand(config, options, out);
    });
  captureTokens
    .command("list")
    .description("list capture tokens (never the tokens themselves)")
    .option("--brand <id>", "only this brand's")
    .action(async (options: { brand?: string }, command: Command) => {
      const { config, out } = context(command);
      const { listTokensCommand } = await import("./commands/capture");
      await listTokensCommand(config, options, out);
    });
  captureTokens
    .command("revoke")
    .description("revoke a capture token: requests with it are refused from now on")
    .argument("<tokenId>", "the token's id (tok_…)")
    .action(async (tokenId: string, _options: unknown, command: Command) => {
      const { config, out } = context(command);
      const { revokeTokenCommand } = await import("./commands/capture");
      await revokeTokenCommand(config, tokenId, out);
    });

  program
    .command("qr")
    .description("QR codes (GS1 Digital Link) for every item of an identity batch, plus a printable A4 sheet")
    .option("--content <file>", "the batch's content file")
    .option("--root <root>", "or its root, looked up in TRACE_CONTENT_DIR")
    .requiredOption("--out <dir>", "output folder")
    .addOption(new Option("--format <format>", "svg or png").default("svg"))
    .option("--base <url>", "resolver base of the Digital Link URIs (TRACE_RESOLVER_BASE)")
    .option("--no-sheet", "skip the A4 sheet")
    .option("--limit <n>", "at most n codes")
    .action(async (options: Parameters<typeof qrCommands.qrCommand>[1], command: Command) => {
      const { config, out } = context(command);
      const { qrCommand } = await import("./commands/qr");
      await qrCommand(config, options, out);
    });

  program
    .command("verify")
    .description("verify an item (Digital Link URI) or a proof bundle file against the chain; exits 0 only if genuine")
    .argument("<target>", "a GS1 Digital Link URI served by a TraceAnchor API, or a bundle / item document JSON file")
    .option("--rpc <url>", "RPC to read (repeatable; all must agree; default TRACE_RPC_URL)", collect, [])
    .action(async (target: string, options: Parameters<typeof verifyCommands.verifyCommand>[2], command: Command) => {
      const { config, out } = context(command);
      const { verifyCommand } = await import("./commands/verify");
      exitCode = await verifyCommand(config, target, options, out);
    });

  program
    .command("verify-contract")
    .description("recompile TraceAnchor with the recorded settings and compare it with the code on chain")
    .action(async (_options, command: Command) => {
      const { config, out } = context(command);
      const { verifyContractCommand } = await import("./commands/verify-contract");
      exitCode = await verifyContractCommand(config, PROJECT_ROOT, out);
    });

  program
    .command("audit")
    .description(
      "check every anchor against the chain and its published content, trusting neither our API nor our index",
    )
    .option("--brand <id>", "only this brand's batches")
    .option("--from-block <n>", "first block to read (default: the deployment block)")
    .option("--api <url>", "also fetch content from this API's record pages when no file is found")
    .option(
      "--compare-db <path>",
      "compare the indexer's database (a SQLite file or a postgres:// URL) with the chain, row by row",
    )
    .option("--allow-missing", "do not fail on batches whose content is not available")
    .action(
      async (
        options: { brand?: string; fromBlock?: string; api?: string; compareDb?: string; allowMissing?: boolean },
        command: Command,
      ) => {
        const { config, out } = context(command);
        const { auditCommand } = await import("./commands/audit");
        exitCode = await auditCommand(
          config,
          { ...options, ...(options.compareDb ? { db: options.compareDb } : {}) },
          out,
        );
      },
    );

  program
    .command("mirror")
    .description("move the mirror between engines")
    .command("copy")
    .description("copy the SQLite mirror (TRACE_DB) into a PostgreSQL database, without re-indexing, and check it")
    .requiredOption("--to <url>", "the PostgreSQL database: postgres://user:pass@host:port/db")
    .action(async (options: { to: string }, command: Command) => {
      const { config, out } = context(command);
      const { mirrorCopyCommand } = await import("./commands/mirror");
      exitCode = await mirrorCopyCommand(config, options, out);
    });

  program
    .command("index")
    .description("follow the chain into the mirror (TRACE_DB: SQLite or PostgreSQL) and ingest batch contents")
    .action(async (_options, command: Command) => {
      const { config, out } = context(command);
      const { runService } = await import("./commands/service");
      await runService(config, io.env, { index: true, serve: false }, out);
    });
  program
    .command("serve")
    .description("run the proof API, with the indexer in the same process")
    .option("--no-index", "serve an existing database without indexing")
    .option("--port <port>", "listen port (TRACE_PORT)")
    .option("--host <host>", "listen address (TRACE_HOST)")
    .action(async (options: { index: boolean }, command: Command) => {
      const { config, out } = context(command);
      const { runService } = await import("./commands/service");
      await runService(config, io.env, { index: options.index, serve: true }, out);
    });

  program
    .command("start")
    .description("run everything: the local chain with demo data (or TRACE_RPC_URL's chain), the indexer and the API")
    .option("--fresh", "delete ./data and start over")
    .option("--demo", "load the demo brands and batches on a chain given by TRACE_RPC_URL too")
    .action(async (options: { fresh?: boolean; demo?: boolean }) => {
      const { startCommand } = await import("./commands/start");
      await startCommand(options, io, run, PROJECT_ROOT);
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "commander.helpDisplayed" || code === "commander.version" || code === "commander.help") return 0;
    if (typeof code === "string" && code.startsWith("commander.")) return 2;
    const flags = program.opts<GlobalFlags>();
    const message = describeError(error);
    io.stderr.write(`error: ${message}\n`);
    if (flags.verbose && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    if (flags.json) io.stdout.write(`${JSON.stringify({ error: message })}\n`);
    exitCode = 1;
  }
  return exitCode;
}

export async function main(): Promise<void> {
  // `traceanchor … | head` closes stdout early: that is the reader's choice, not an error to report.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
  process.exitCode = await run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  });
}
