/** `deployments/<chainId>.json`: where the contract lives on a chain and how it was compiled. */
import fs from "node:fs";
import path from "node:path";
import { ConfigError } from "./config";

export interface Deployment {
  contract: string;
  chainId: string;
  blockNumber: number;
  txHash: string;
  deployer: string;
  admin: string;
  adminDelaySeconds: number;
  deployedAt: string;
  compiler: CompilerInfo;
}

export interface CompilerInfo {
  version: string;
  longVersion: string;
  settings: unknown;
  sourceName: string;
  contractName: string;
  /** Every source file of the compilation, by its import name (contracts/… or @openzeppelin/…). */
  sources: string[];
}

export function deploymentPath(dir: string, chainId: bigint): string {
  return path.join(dir, `${chainId}.json`);
}

export function readDeployment(dir: string, chainId: bigint): Deployment | undefined {
  const file = deploymentPath(dir, chainId);
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as Deployment;
  } catch (error) {
    throw new Error(`${file}: not valid JSON`, { cause: error });
  }
}

export function writeDeployment(dir: string, deployment: Deployment): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = deploymentPath(dir, BigInt(deployment.chainId));
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(deployment, null, 2)}\n`);
  fs.renameSync(tmp, file);
  return file;
}

/** The compiler version and settings of TraceAnchor, from Hardhat's build info of the last compile. */
export function compilerInfo(root: string): CompilerInfo {
  const sourceName = "contracts/TraceAnchor.sol";
  const contractName = "TraceAnchor";
  const dbg = path.join(root, "artifacts", sourceName, `${contractName}.dbg.json`);
  if (!fs.existsSync(dbg)) throw new Error(`no ${dbg}: run "npx hardhat compile" first`);
  const { buildInfo } = JSON.parse(fs.readFileSync(dbg, "utf8")) as { buildInfo: string };
  const info = JSON.parse(fs.readFileSync(path.resolve(path.dirname(dbg), buildInfo), "utf8")) as {
    solcVersion: string;
    solcLongVersion: string;
    input: { settings: unknown; sources: Record<string, unknown> };
  };
  return {
    version: info.solcVersion,
    longVersion: info.solcLongVersion,
    settings: info.input.settings,
    sourceName,
    contractName,
    sources: Object.keys(info.input.sources).sort(),
  };
}

/** The address deployments/<chainId>.json names (for when --contract / TRACE_CONTRACT is not set). */
export function deployedContract(config: { readonly deploymentsDir: string }, chainId: bigint): string {
  const deployment = readDeployment(config.deploymentsDir, chainId);
  if (!deployment) {
    throw new ConfigError(
      `no contract: set TRACE_CONTRACT or run "traceanchor deploy" (no ${config.deploymentsDir}/${chainId}.json)`,
    );
  }
  return deployment.contract;
}
