/** Reads a secret from the terminal without echoing it. Refuses when there is no terminal to ask. */
import readline from "node:readline";
import { ConfigError } from "./config";

export async function promptSecret(question: string): Promise<string> {
  if (!process.stdin.isTTY)
    throw new ConfigError("a password is needed and there is no terminal: set TRACE_KEYSTORE_PASSWORD");
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const output = rl as unknown as { _writeToOutput: (s: string) => void };
  let asked = false;
  output._writeToOutput = (s: string) => {
    // Echo the question once, then nothing of what is typed.
    if (!asked) process.stderr.write(s);
    asked = true;
  };
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    rl.close();
    process.stderr.write("\n");
  }
}
