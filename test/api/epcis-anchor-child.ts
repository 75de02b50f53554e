/**
 * The capture worker in a process of its own, for the kill -9 test (epcis-anchor.test.ts): anchors
 * every pending captured event, then exits 0. With TA_KILL_STEP set it SIGKILLs itself when the
 * TA_KILL_NTH-th batch reaches that step (built, content, sent, anchored).
 *
 *   TA_EPCIS (SQLite file or postgres:// URL), TA_RPC_URL, TA_CONTRACT, TA_KEY, TA_CONTENT_DIR
 */
import { JsonRpcProvider, Wallet } from "ethers";
import { createAnchorChain } from "../../api/epcis/anchor-chain";
import { openDatabase } from "../../mirror/db";
import { isPostgresUrl } from "../../mirror/engine";
import { openEpcisStore, sqliteEpcisStore, type EpcisStore } from "../../mirror/epcis/store";
import { createCaptureWorker } from "../../mirror/epcis/worker";
import { openStore } from "../../mirror/store";
import { TraceAnchor__factory } from "../../typechain-types";

async function main(): Promise<void> {
  const env = process.env;
  const location = env.TA_EPCIS ?? "";
  const mirror = isPostgresUrl(location) ? await openStore({ db: location }) : undefined;
  const store: EpcisStore =
    mirror === undefined ? sqliteEpcisStore(openDatabase(location)) : openEpcisStore(mirror, "unused");
  const provider = new JsonRpcProvider(env.TA_RPC_URL, undefined, { cacheTimeout: -1 });
  const signer = new Wallet(env.TA_KEY ?? "", provider);
  const chain = await createAnchorChain({
    registry: TraceAnchor__factory.connect(env.TA_CONTRACT ?? "", signer),
    signer,
  });
  const killStep = env.TA_KILL_STEP;
  const killNth = Number(env.TA_KILL_NTH ?? "1");
  let seen = 0;
  const worker = createCaptureWorker({
    store,
    chain,
    contentDir: env.TA_CONTENT_DIR ?? "",
    log: { info: () => undefined, error: () => undefined },
    config: { batchSeconds: 3600, batchEvents: 4 },
    // Every pending event is due: the clock runs ahead of the batch interval.
    now: () => Date.now() + 7_200_000,
    onStep: (step) => {
      if (step === killStep && ++seen === killNth) process.kill(process.pid, "SIGKILL");
    },
  });
  for (;;) {
    const result = await worker.tick();
    if (result.failed > 0) throw new Error("a batch failed");
    if (result.built === 0) break;
  }
  await store.close();
  await mirror?.close();
  provider.destroy();
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${String(error instanceof Error ? error.stack : error)}\n`);
      process.exit(1);
    },
  );
}
