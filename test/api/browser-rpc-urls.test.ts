import { expect } from "chai";
import { ApiConfigError, apiConfig, parseApiEnv } from "../../api/config";

describe("browser RPC URLs in the API config", function () {
  it("are none by default", function () {
    expect(parseApiEnv({})).to.deep.include({ browserRpcUrls: [] });
  });

  it("read TRACE_BROWSER_RPC_URLS as a comma-separated list, and the older TRACE_BROWSER_RPC_URL into it, each once", function () {
    const config = parseApiEnv({
      TRACE_BROWSER_RPC_URLS: " https://a.example/rpc/ , http://127.0.0.1:8545,",
      TRACE_BROWSER_RPC_URL: "http://127.0.0.1:8545",
    });
    expect(config.browserRpcUrls).to.deep.equal(["https://a.example/rpc", "http://127.0.0.1:8545"]);
    expect(Object.isFrozen(config.browserRpcUrls)).to.equal(true);
    expect(parseApiEnv({ TRACE_BROWSER_RPC_URL: "https://b.example" }).browserRpcUrls).to.deep.equal([
      "https://b.example",
    ]);
  });

  it("refuse a URL that is not http(s), naming the variable", function () {
    for (const [name, value] of [
      ["TRACE_BROWSER_RPC_URLS", "https://a.example,ftp://b.example"],
      ["TRACE_BROWSER_RPC_URLS", "https://a.example/rpc#x"],
      ["TRACE_BROWSER_RPC_URLS", "http://[bad"],
      ["TRACE_BROWSER_RPC_URL", "a.example"],
    ] as const) {
      expect(() => parseApiEnv({ [name]: value }), value).to.throw(ApiConfigError, new RegExp(`^${name}: `));
    }
    expect(() => apiConfig({ browserRpcUrls: ["javascript:alert(1)"] })).to.throw(
      ApiConfigError,
      /TRACE_BROWSER_RPC_URLS/,
    );
  });
});
