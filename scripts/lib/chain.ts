/**
 * Clients the CLI builds from its configuration: a JSON-RPC provider, the signer (a raw key or an
 * encrypted JSON keystore), and the TraceAnchor contract at the configured or deployed address.
 */
import fs from "node:fs";
import {
  JsonRpcProvider,
  Wallet,
  type Signer,
  type TransactionReceipt,
  type ContractTransactionResponse,
} from "ethers";
import { TraceAnchor__factory, type TraceAnchor } from "../../typechain-types";
import { ConfigError, confirmationsFor, type Config } from "./config";
import { deployedContract } from "./deployments";
import { ChainError } from "./chain-error";
import { promptSecret } from "./prompt";

export { ChainError };

export function createProvider(config: Config): JsonRpcProvider {
  // No response cache: ethers would otherwise hand two transactions sent within 250 ms the same nonce.
  return new JsonRpcProvider(config.rpcUrl, undefined, { cacheTimeout: -1 });
}

export async function chainIdOf(provider: JsonRpcProvider, config: Config): Promise<bigint> {
  try {
    return (await provider.getNetwork()).chainId;
  } catch (error) {
    throw new ChainError(`cannot reach the RPC at ${config.rpcUrl} (is the node running?)`, { cause: error });
  }
}

/** The signer from TRACE_PRIVATE_KEY, or from the TRACE_KEYSTORE file (password from the environment or a prompt). */
export async function createSigner(config: Config, provider: JsonRpcProvider): Promise<Signer> {
  if (config.privateKey) return new Wallet(config.privateKey, provider);
  if (config.keystore) {
    if (!fs.existsSync(config.keystore)) throw new ConfigError(`TRACE_KEYSTORE: no file at ${config.keystore}`);
    const json = fs.readFileSync(config.keystore, "utf8");
    const password = config.keystorePassword ?? (await promptSecret(`Password for ${config.keystore}: `));
    try {
      return (await Wallet.fromEncryptedJson(json, password)).connect(provider);
    } catch (error) {
      throw new ConfigError(`TRACE_KEYSTORE: cannot decrypt ${config.keystore} (wrong password?)`, { cause: error });
    }
  }
  throw new ConfigError(
    "no signing key: set TRACE_PRIVATE_KEY, or TRACE_KEYSTORE (with TRACE_KEYSTORE_PASSWORD or a prompt)",
  );
}

/** The contract address: --contract / TRACE_CONTRACT, else deployments/<chainId>.json. */
export async function contractAddress(config: Config, provider: JsonRpcProvider): Promise<string> {
  return config.contract || deployedContract(config, await chainIdOf(provider, config));
}

export async function connectRegistry(
  config: Config,
  runner: Signer | JsonRpcProvider,
  provider: JsonRpcProvider,
): Promise<TraceAnchor> {
  const address = await contractAddress(config, provider);
  if ((await provider.getCode(address)) === "0x") {
    throw new ChainError(`no contract at ${address} on ${config.rpcUrl} (wrong chain, or a restarted local node?)`);
  }
  return TraceAnchor__factory.connect(address, runner);
}

/** Waits for the receipt and then for TRACE_CONFIRMATIONS more blocks; throws on a reverted transaction. */
export async function confirm(
  tx: ContractTransactionResponse,
  config: Config,
  chainId: bigint,
): Promise<TransactionReceipt> {
  const receipt = await tx.wait(Math.max(1, confirmationsFor(config, chainId)));
  if (!receipt || receipt.status !== 1) throw new ChainError(`transaction ${tx.hash} failed`);
  return receipt;
}

export function explorerTxUrl(config: Config, txHash: string): string | undefined {
  return config.explorerUrl ? `${config.explorerUrl}/tx/${txHash}` : undefined;
}
