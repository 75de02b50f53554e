/** `traceanchor deploy`: deploys TraceAnchor and records it in deployments/<chainId>.json. */
import path from "node:path";
import { TraceAnchor__factory } from "../../typechain-types";
import type { Config } from "../lib/config";
import { ConfigError } from "../lib/config";
import { chainIdOf, confirm, createProvider, createSigner, explorerTxUrl } from "../lib/chain";
import { compilerInfo, writeDeployment } from "../lib/deployments";
import type { Output } from "../lib/output";

export interface DeployOptions {
  admin?: string;
  adminDelay: string;
  registrar: string[];
}

const THREE_DAYS = 3 * 24 * 3600;

export async function deploy(config: Config, options: DeployOptions, out: Output, projectRoot: string): Promise<void> {
  const provider = createProvider(config);
  const chainId = await chainIdOf(provider, config);
  const signer = await createSigner(config, provider);
  const deployer = await signer.getAddress();
  const admin = options.admin ?? deployer;
  const delay = Number.parseInt(options.adminDelay, 10);
  if (!Number.isSafeInteger(delay) || delay < 0 || delay >= 2 ** 48) {
    throw new ConfigError(`--admin-delay must be a number of seconds, got "${options.adminDelay}"`);
  }
  const compiler = compilerInfo(projectRoot);

  out.note(`deploying TraceAnchor to chain ${chainId} from ${deployer}…`);
  const registry = await new TraceAnchor__factory(signer).deploy(delay, admin);
  const deployTx = registry.deploymentTransaction();
  if (!deployTx) throw new Error("no deployment transaction");
  const receipt = await confirm(deployTx, config, chainId);
  const address = await registry.getAddress();

  // The deployer is usually the platform operator onboarding brands; give it (and any --registrar) the role
  // when it is also the admin, so `brand register` works right after deploy.
  const registrars = options.registrar.length > 0 ? options.registrar : admin === deployer ? [deployer] : [];
  const role = await registry.REGISTRAR_ROLE();
  for (const account of registrars) {
    await confirm(await registry.grantRole(role, account), config, chainId);
  }

  const file = writeDeployment(config.deploymentsDir, {
    contract: address,
    chainId: chainId.toString(),
    blockNumber: receipt.blockNumber,
    txHash: receipt.hash,
    deployer,
    admin,
    adminDelaySeconds: delay,
    deployedAt: new Date().toISOString(),
    compiler,
  });
  out.info(`TraceAnchor deployed at ${address} (block ${receipt.blockNumber})`);
  out.info(`recorded in ${path.relative(process.cwd(), file) || file}`);
  const link = explorerTxUrl(config, receipt.hash);
  if (link) out.info(`explorer: ${link}`);
  out.result({ contract: address, chainId: chainId.toString(), blockNumber: receipt.blockNumber, txHash: receipt.hash, registrars });
}

export const DEFAULT_ADMIN_DELAY = String(THREE_DAYS);
