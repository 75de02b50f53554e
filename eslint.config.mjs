// ESLint for the TypeScript (type-aware, through tsconfig.json, which includes every linted .ts file) and
// the few plain CommonJS scripts. Formatting is Prettier's job (`prettier --check` in `npm run lint:ts`),
// so eslint-config-prettier comes last and turns off every rule that would argue with it.
import { defineConfig, globalIgnores } from "eslint/config";
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import prettier from "eslint-config-prettier";

export default defineConfig(
  // Generated or built: typechain-types/ (hardhat compile), artifacts/ and cache/ (solc), dist/ (tsc),
  // test-output/ (test runs), coverage/.
  globalIgnores(["typechain-types/", "artifacts/", "cache/", "dist/", "node_modules/", "test-output/", "coverage/"]),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Each file gets the nearest tsconfig.json: the root one, which includes every .ts file here.
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A promise nobody awaits loses its rejection (an unhandled rejection ends Node); where
      // fire-and-forget is meant, say so with `void` and handle the error in the promise itself.
      "@typescript-eslint/no-floating-promises": "error",
      // The base rule does not know TypeScript's type/value namespaces and reports false positives
      // (enums, type parameters, declaration merging); the typescript-eslint one does.
      "no-shadow": "off",
      "@typescript-eslint/no-shadow": "error",
      // Destructuring a field away (`const { eventID: _id, ...rest } = event`) is how an object is copied
      // without it; an underscore says "unused on purpose".
      "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true, varsIgnorePattern: "^_", argsIgnorePattern: "^_" }],
    },
  },
  {
    // The plain JavaScript: bin/*.js and scripts/build-stamp.js (CommonJS, run by node as they are) and
    // this file. No tsconfig covers them, so no type-aware rules.
    files: ["**/*.js", "**/*.cjs", "**/*.mjs"],
    extends: [tseslint.configs.disableTypeChecked],
    rules: {
      // CommonJS `require` is what these scripts are (bin/traceanchor.js must load ts-node or dist/ at run time).
      "@typescript-eslint/no-require-imports": "off",
    },
  },
  {
    files: ["**/*.js", "**/*.cjs"],
    languageOptions: {
      // commonjs gives require, module and exports; the other Node globals these scripts use are listed.
      sourceType: "commonjs",
      globals: { __dirname: "readonly", __filename: "readonly", process: "readonly", console: "readonly" },
    },
  },
  prettier,
);
