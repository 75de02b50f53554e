/**
 * Hardhat's development accounts, derived from its public test mnemonic. They hold test ether on a
 * local Hardhat chain only; never use them anywhere else.
 */
import { HDNodeWallet, Mnemonic } from "ethers";

const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

let root: HDNodeWallet | undefined;

export function devAccount(index: number): HDNodeWallet {
  root ??= HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(HARDHAT_MNEMONIC), "m/44'/60'/0'/0");
  return root.deriveChild(index);
}
