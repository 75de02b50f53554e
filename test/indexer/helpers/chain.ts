/**
 * Deploys TraceAnchor on a test node and drives it: brands, anchors, mining and reorgs.
 */
import { encodeBytes32String, hexlify, keccak256, toUtf8Bytes } from "ethers";
import type { ContractTransactionResponse, JsonRpcSigner } from "ethers";
import { TraceAnchor__factory } from "../../../typechain-types";
import type { TraceAnchor } from "../../../typechain-types";
import type { ITraceAnchor } from "../../../typechain-types/contracts/TraceAnchor";
import type { HardhatNode } from "./node";

export interface Deployment {
  readonly contract: TraceAnchor;
  readonly address: string;
  readonly deployBlock: number;
  readonly admin: JsonRpcSigner;
  readonly registrar: JsonRpcSigner;
  readonly brandAdmin: JsonRpcSigner;
  readonly submitter: JsonRpcSigner;
  readonly other: JsonRpcSigner;
  as(signer: JsonRpcSigner): TraceAnchor;
}

async function accounts(
  node: HardhatNode,
): Promise<[JsonRpcSigner, JsonRpcSigner, JsonRpcSigner, JsonRpcSigner, JsonRpcSigner]> {
  const [admin, registrar, brandAdmin, submitter, other] = await Promise.all(
    [0, 1, 2, 3, 4].map((i) => node.provider.getSigner(i)),
  );
  if (
    admin === undefined ||
    registrar === undefined ||
    brandAdmin === undefined ||
    submitter === undefined ||
    other === undefined
  ) {
    throw new Error("node has too few accounts");
  }
  return [admin, registrar, brandAdmin, submitter, other];
}

export async function deployTraceAnchor(node: HardhatNode): Promise<Deployment> {
  const [admin, registrar] = await accounts(node);
  const contract = await new TraceAnchor__factory(admin).deploy(0, admin.address);
  const receipt = await contract.deploymentTransaction()?.wait();
  if (receipt === null || receipt === undefined) throw new Error("no deployment receipt");
  await mined(contract.grantRole(await contract.REGISTRAR_ROLE(), registrar.address));
  return connectDeployment(node, await contract.getAddress(), receipt.blockNumber);
}

/**
 * A contract deployed some other way (`traceanchor deploy`), with the node's first account as its
 * admin and the second already a registrar.
 */
export async function connectDeployment(node: HardhatNode, address: string, deployBlock: number): Promise<Deployment> {
  const [admin, registrar, brandAdmin, submitter, other] = await accounts(node);
  const contract = TraceAnchor__factory.connect(address, admin);
  return {
    contract,
    address,
    deployBlock,
    admin,
    registrar,
    brandAdmin,
    submitter,
    other,
    as: (signer) => TraceAnchor__factory.connect(address, signer),
  };
}

/** Sends and waits for the receipt (needs automine, or a mine in between). */
export async function mined(tx: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("no receipt");
  return receipt.blockNumber;
}

export const role = (label: string): string => encodeBytes32String(label);

export function rootOf(label: string): string {
  return keccak256(toUtf8Bytes(label));
}

export function request(label: string, leafCount = 10n, kind = 1): ITraceAnchor.AnchorRequestStruct {
  return { root: rootOf(label), kind, leafCount, contentURI: `file:${label}.ndjson` };
}

/** Registers brand "Acme" (admin brandAdmin, prefix 4006381) with `submitter` as "factory". */
export async function setUpBrand(d: Deployment, name = "Acme", prefix = "4006381"): Promise<bigint> {
  await mined(d.as(d.registrar).registerBrand(name, d.brandAdmin.address, [prefix]));
  const brandId = await d.contract.brandCount();
  await mined(d.as(d.brandAdmin).setSubmitter(brandId, d.submitter.address, role("factory")));
  return brandId;
}

/**
 * Mines `blocks` empty blocks one by one. Not hardhat_mine: beyond a few blocks it "reserves" them,
 * and reserved blocks report a zero parentHash, which is no chain an indexer can follow.
 */
export async function mine(node: HardhatNode, blocks = 1): Promise<void> {
  for (let i = 0; i < blocks; i++) await node.rpc("evm_mine");
}

export async function snapshot(node: HardhatNode): Promise<string> {
  return node.rpc<string>("evm_snapshot");
}

export async function revertTo(node: HardhatNode, id: string): Promise<void> {
  const ok = await node.rpc<boolean>("evm_revert", [id]);
  if (!ok) throw new Error(`evm_revert ${id} failed`);
}

export async function blockNumber(node: HardhatNode): Promise<number> {
  return Number.parseInt(await node.rpc<string>("eth_blockNumber"), 16);
}

export const randomLabel = (): string => hexlify(crypto.getRandomValues(new Uint8Array(8)));
