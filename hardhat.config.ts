import path from "node:path";
import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import type { SolcBuild } from "hardhat/types";
import "@nomicfoundation/hardhat-toolbox";

/** The one compiler version; `solc` in package.json is pinned to the same release. */
export const SOLC_VERSION = "0.8.28";

// Hardhat downloads native solc builds, which cannot be fetched on our machines. The solc npm
// package ships the same compiler as soljson.js, so hand that to Hardhat instead.
subtask(
  TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD,
  async (args: { solcVersion: string }, _hre, runSuper): Promise<SolcBuild> => {
    // Hardhat types runSuper's result as any; the subtask being overridden resolves to a SolcBuild.
    if (args.solcVersion !== SOLC_VERSION) return (await runSuper()) as SolcBuild;
    const soljson = path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const solc = require("solc") as { version(): string };
    return { compilerPath: soljson, isSolcJs: true, version: args.solcVersion, longVersion: solc.version() };
  },
);

const explorerApiKey = process.env.TRACE_EXPLORER_API_KEY ?? "";
const explorerApiUrl = process.env.TRACE_EXPLORER_API_URL;
const explorerBrowserUrl = process.env.TRACE_EXPLORER_URL;
const rpcUrl = process.env.TRACE_RPC_URL;
const privateKey = process.env.TRACE_PRIVATE_KEY;

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      evmVersion: "cancun",
      viaIR: true,
      // Keep the CBOR metadata hash: Sourcify's "exact match" and our verify-contract need it.
      metadata: { bytecodeHash: "ipfs" },
    },
  },
  networks: {
    // TRACE_CHAIN_GENESIS pins the genesis time of `npm start`'s local chain, so replaying its journal gives
    // back the very same blocks after a restart.
    hardhat: {
      chainId: 31337,
      ...(process.env.TRACE_CHAIN_GENESIS ? { initialDate: process.env.TRACE_CHAIN_GENESIS } : {}),
    },
    localhost: { url: "http://127.0.0.1:8545", chainId: 31337 },
    ...(rpcUrl ? { target: { url: rpcUrl, accounts: privateKey ? [privateKey] : [] } } : {}),
  },
  etherscan: {
    apiKey: explorerApiKey,
    customChains:
      explorerApiUrl && explorerBrowserUrl && process.env.TRACE_CHAIN_ID
        ? [
            {
              network: "target",
              chainId: Number.parseInt(process.env.TRACE_CHAIN_ID, 10),
              urls: { apiURL: explorerApiUrl, browserURL: explorerBrowserUrl },
            },
          ]
        : [],
  },
  sourcify: { enabled: false },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
  gasReporter: { enabled: process.env.REPORT_GAS === "true", offline: true },
  mocha: { timeout: 120_000 },
  paths: { tests: "./test" },
};

export default config;
