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
  // The deployer starts as the default admin so it can grant the registrar role; a different --admin
  // then receives the admin through the contract's own two-step, delayed transfer.
  const registry = await new TraceAnchor__factory(signer).deploy(delay, deployer);
  const deployTx = registry.deploymentTransaction();
  if (!deployTx) throw new Error("no deployment transaction");
  const receipt = await confirm(deployTx, config, chainId);
  const address = await registry.getAddress();

  const registrars = options.registrar.length > 0 ? options.registrar : [admin];
  const role = await registry.REGISTRAR_ROLE();
  for (const account of registrars) {
    await confirm(await registry.grantRole(role, account), config, chainId);
  }
  let adminTransfer: { to: string; acceptableAfter: string } | undefined;
  if (admin.toLowerCase() !== deployer.toLowerCase()) {
    const transfer = await confirm(await registry.beginDefaultAdminTransfer(admin), config, chainId);
    const [, schedule] = await registry.pendingDefaultAdmin();
    adminTransfer = { to: admin, acceptableAfter: new Date(Number(schedule) * 1000).toISOString() };
    out.info(
      `admin transfer to ${admin} started (tx ${transfer.hash}); ${admin} must call acceptDefaultAdminTransfer() after ${adminTransfer.acceptableAfter}`,
    );
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
  out.result({
    contract: address,
    chainId: chainId.toString(),
    blockNumber: receipt.blockNumber,
    txHash: receipt.hash,
    registrars,
    ...(adminTransfer ? { adminTransfer } : {}),
  });
}

export const DEFAULT_ADMIN_DELAY = String(THREE_DAYS);
