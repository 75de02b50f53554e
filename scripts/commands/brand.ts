/** `traceanchor brand register | prefix | submitter`: the registrar's and the brand admin's commands. */
import { encodeBytes32String, getAddress, type TransactionReceipt } from "ethers";
import type { TraceAnchor } from "../../typechain-types";
import { ConfigError, type Config } from "../lib/config";
import { chainIdOf, confirm, connectRegistry, createProvider, createSigner, explorerTxUrl } from "../lib/chain";
import type { Output } from "../lib/output";

export function parseBrandId(value: string): bigint {
  if (!/^[1-9]\d{0,18}$/.test(value)) throw new ConfigError(`--brand must be a brand id (1, 2, …), got "${value}"`);
  return BigInt(value);
}

export function parseAddress(flag: string, value: string): string {
  // getAddress throws on anything that is not an address (ethers' isAddress is this try) and returns the checksummed form.
  try {
    return getAddress(value);
  } catch {
    throw new ConfigError(`${flag} must be an address (0x followed by 40 hex digits), got "${value}"`);
  }
}

export function parsePrefix(value: string): string {
  if (!/^\d{6,12}$/.test(value))
    throw new ConfigError(`--prefix must be a GS1 company prefix of 6 to 12 digits, got "${value}"`);
  return value;
}

export function parseRole(value: string): string {
  const label = value.trim();
  if (label === "" || Buffer.byteLength(label) > 31)
    throw new ConfigError(`--role must be a label of 1 to 31 bytes, got "${value}"`);
  return encodeBytes32String(label);
}

interface Session {
  registry: TraceAnchor;
  chainId: bigint;
  sender: string;
}

async function session(config: Config): Promise<Session> {
  const provider = createProvider(config);
  const chainId = await chainIdOf(provider, config);
  const signer = await createSigner(config, provider);
  const registry = await connectRegistry(config, signer, provider);
  return { registry, chainId, sender: await signer.getAddress() };
}

function txFields(config: Config, receipt: TransactionReceipt): Record<string, unknown> {
  return { txHash: receipt.hash, blockNumber: receipt.blockNumber, explorerTxUrl: explorerTxUrl(config, receipt.hash) };
}

export async function registerBrand(
  config: Config,
  options: { name: string; admin: string; prefix: string[] },
  out: Output,
): Promise<void> {
  const name = options.name.trim();
  if (name === "") throw new ConfigError("--name must not be empty");
  const admin = parseAddress("--admin", options.admin);
  const prefixes = options.prefix.map(parsePrefix);
  const { registry, chainId } = await session(config);
  for (const prefix of prefixes) {
    const owner = await registry.brandOfPrefix(prefix);
    if (owner !== 0n) throw new ConfigError(`prefix ${prefix} already belongs to brand ${owner}`);
  }
  const receipt = await confirm(await registry.registerBrand(name, admin, prefixes), config, chainId);
  const event = receipt.logs
    .map((log) => registry.interface.parseLog(log))
    .find((parsed) => parsed?.name === "BrandRegistered");
  if (!event) throw new Error(`no BrandRegistered event in ${receipt.hash}`);
  const brandId = event.args.getValue("brandId") as bigint;
  out.info(
    `registered brand ${brandId} "${name}" (admin ${admin}${prefixes.length ? `, prefixes ${prefixes.join(", ")}` : ""})`,
  );
  out.result({ brandId: brandId.toString(), ...txFields(config, receipt) });
}

export async function assignPrefix(
  config: Config,
  options: { brand: string; prefix: string },
  out: Output,
): Promise<void> {
  const brandId = parseBrandId(options.brand);
  const prefix = parsePrefix(options.prefix);
  const { registry, chainId } = await session(config);
  const owner = await registry.brandOfPrefix(prefix);
  if (owner === brandId) {
    out.info(`prefix ${prefix} already belongs to brand ${brandId}: nothing to do`);
    out.result({ brandId: brandId.toString(), prefix, changed: false });
    return;
  }
  if (owner !== 0n) throw new ConfigError(`prefix ${prefix} already belongs to brand ${owner}`);
  const receipt = await confirm(await registry.assignPrefix(brandId, prefix), config, chainId);
  out.info(`prefix ${prefix} assigned to brand ${brandId}`);
  out.result({ brandId: brandId.toString(), prefix, changed: true, ...txFields(config, receipt) });
}

export async function setSubmitter(
  config: Config,
  options: { brand: string; account: string; role?: string; remove?: boolean },
  out: Output,
): Promise<void> {
  const brandId = parseBrandId(options.brand);
  const account = parseAddress("--account", options.account);
  const { registry, chainId, sender } = await session(config);
  const admin = await registry.brandAdmin(brandId);
  if (admin !== sender)
    throw new ConfigError(`only brand ${brandId}'s admin (${admin}) can change its submitters; this key is ${sender}`);
  if (options.remove) {
    const receipt = await confirm(await registry.removeSubmitter(brandId, account), config, chainId);
    out.info(`${account} no longer submits for brand ${brandId}`);
    out.result({ brandId: brandId.toString(), account, removed: true, ...txFields(config, receipt) });
    return;
  }
  if (options.role === undefined) throw new ConfigError("--role is required (or --remove)");
  const role = parseRole(options.role);
  const receipt = await confirm(await registry.setSubmitter(brandId, account, role), config, chainId);
  out.info(`${account} submits for brand ${brandId} as "${options.role.trim()}"`);
  out.result({ brandId: brandId.toString(), account, role: options.role.trim(), ...txFields(config, receipt) });
}
