/**
 * Serves Hardhat's in-process network over HTTP on a free port, so CLI commands (which speak
 * JSON-RPC) run against the same chain the test inspects through `ethers` and can snapshot.
 */
import hre from "hardhat";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";

export interface RpcServer {
  url: string;
  close(): Promise<void>;
}

interface JsonRpcServerLike {
  listen(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

export async function startRpcServer(): Promise<RpcServer> {
  const server = (await hre.run(TASK_NODE_CREATE_SERVER, {
    hostname: "127.0.0.1",
    port: 0,
    provider: hre.network.provider,
  })) as JsonRpcServerLike;
  const { port } = await server.listen();
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/** Hardhat's default accounts' well-known development keys (public knowledge; local chains only). */
export const DEV_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
] as const;
