/**
 * `traceanchor verify-contract`: recompiles TraceAnchor from the sources on disk with the compiler
 * version and settings recorded at deployment, and compares the runtime bytecode (CBOR metadata hash
 * included) with the code on chain, as an explorer's source verification does. Immutable values
 * (EIP-712 domain caches) are set by the constructor, so their byte ranges are compared separately:
 * they are reported, not masked silently.
 */
import fs from "node:fs";
import path from "node:path";
import { createProvider, chainIdOf, contractAddress } from "../lib/chain";
import { ConfigError, type Config } from "../lib/config";
import { readDeployment, type CompilerInfo } from "../lib/deployments";
import type { Output } from "../lib/output";

interface ImmutableRef {
  start: number;
  length: number;
}

interface SolcOutput {
  errors?: Array<{ severity: string; formattedMessage: string }>;
  contracts?: Record<
    string,
    Record<
      string,
      { evm: { deployedBytecode: { object: string; immutableReferences?: Record<string, ImmutableRef[]> } } }
    >
  >;
}

function readSource(projectRoot: string, name: string): string {
  const local = path.join(projectRoot, name);
  const file = fs.existsSync(local) ? local : path.join(projectRoot, "node_modules", name);
  if (!fs.existsSync(file)) throw new ConfigError(`source ${name} not found in the project or node_modules`);
  return fs.readFileSync(file, "utf8");
}

export function compileRuntime(
  projectRoot: string,
  compiler: CompilerInfo,
): { object: string; immutables: ImmutableRef[] } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc") as { version(): string; compile(input: string): string };
  const installed = solc.version();
  if (!installed.startsWith(`${compiler.version}+`)) {
    throw new ConfigError(
      `the deployment was compiled with solc ${compiler.longVersion}; the installed solc is ${installed}`,
    );
  }
  const settings = {
    ...(compiler.settings as Record<string, unknown>),
    outputSelection: { [compiler.sourceName]: { [compiler.contractName]: ["evm.deployedBytecode"] } },
  };
  const sources = Object.fromEntries(
    compiler.sources.map((name) => [name, { content: readSource(projectRoot, name) }]),
  );
  const output = JSON.parse(solc.compile(JSON.stringify({ language: "Solidity", sources, settings }))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new ConfigError(`compilation failed: ${errors[0]!.formattedMessage}`);
  const deployed = output.contracts?.[compiler.sourceName]?.[compiler.contractName]?.evm.deployedBytecode;
  if (!deployed) throw new ConfigError(`no ${compiler.contractName} in the compiler output`);
  return {
    object: deployed.object.toLowerCase(),
    immutables: Object.values(deployed.immutableReferences ?? {}).flat(),
  };
}

/** The CBOR metadata at the end of runtime code: its length is in the last two bytes. */
function metadataOf(hex: string): string {
  const bytes = hex.length / 2;
  const length = Number.parseInt(hex.slice(-4), 16);
  return length + 2 <= bytes ? hex.slice(-(length + 2) * 2) : "";
}

export interface BytecodeComparison {
  match: boolean;
  metadataMatch: boolean;
  firstDifference?: number;
  immutables: Array<{ start: number; length: number; value: string }>;
}

export function compareRuntime(
  compiled: { object: string; immutables: ImmutableRef[] },
  onChainHex: string,
): BytecodeComparison {
  const chain = onChainHex.replace(/^0x/, "").toLowerCase();
  let masked = compiled.object;
  const immutables = compiled.immutables
    .sort((a, b) => a.start - b.start)
    .map((ref) => {
      const value = chain.slice(ref.start * 2, (ref.start + ref.length) * 2);
      masked = masked.slice(0, ref.start * 2) + value + masked.slice((ref.start + ref.length) * 2);
      return { ...ref, value: `0x${value}` };
    });
  const match = masked === chain;
  let firstDifference: number | undefined;
  if (!match) {
    const n = Math.min(masked.length, chain.length);
    let i = 0;
    while (i < n && masked[i] === chain[i]) i++;
    firstDifference = Math.floor(i / 2);
  }
  const metadata = metadataOf(compiled.object);
  return {
    match,
    metadataMatch: metadata !== "" && metadata === metadataOf(chain),
    ...(firstDifference === undefined ? {} : { firstDifference }),
    immutables,
  };
}

export async function verifyContractCommand(config: Config, projectRoot: string, out: Output): Promise<number> {
  const provider = createProvider(config);
  const chainId = await chainIdOf(provider, config);
  const address = await contractAddress(config, provider);
  const deployment = readDeployment(config.deploymentsDir, chainId);
  if (!deployment)
    throw new ConfigError(
      `no ${config.deploymentsDir}/${chainId}.json: the compiler settings of the deployment are recorded there`,
    );
  if (deployment.contract.toLowerCase() !== address.toLowerCase()) {
    throw new ConfigError(`deployments/${chainId}.json records ${deployment.contract}, not ${address}`);
  }
  if (!deployment.compiler.sources)
    throw new ConfigError(`deployments/${chainId}.json has no source list: redeploy with this version of the CLI`);
  const onChain = await provider.getCode(address);
  if (onChain === "0x") throw new ConfigError(`no code at ${address} on chain ${chainId}`);
  out.note(`recompiling ${deployment.compiler.sourceName} with solc ${deployment.compiler.longVersion}…`);
  const compiled = compileRuntime(projectRoot, deployment.compiler);
  const result = compareRuntime(compiled, onChain);
  out.info(
    result.match
      ? `MATCH: the code at ${address} is ${deployment.compiler.contractName} compiled from these sources (metadata hash included)`
      : `MISMATCH: the code at ${address} differs from the sources from byte ${result.firstDifference}`,
  );
  out.info(
    `metadata hash ${result.metadataMatch ? "matches" : "differs"}; ${result.immutables.length} immutable range(s) set by the constructor`,
  );
  out.result({
    contract: address,
    chainId: chainId.toString(),
    match: result.match,
    metadataMatch: result.metadataMatch,
    firstDifference: result.firstDifference,
    compiler: deployment.compiler.longVersion,
    immutables: result.immutables,
  });
  return result.match && result.metadataMatch ? 0 : 3;
}
