// ESLint: the recommended JS and TypeScript rules, formatting left to Prettier.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".sandbox/", "coverage/", "**/*.html"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: "module" },
    rules: {
      // Unused arguments keep a signature readable (Node-RED's close(removed, done) needs its arity).
      "@typescript-eslint/no-unused-vars": ["error", { args: "none", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // Node-RED loads nodes with require(): `export =` modules and require() of them are the norm here.
      "@typescript-eslint/no-require-imports": "off",
      // `const node = this` is how a Node-RED constructor hands itself to its callbacks.
      "@typescript-eslint/no-this-alias": "off",
      // Name cleaning matches control characters on purpose.
      "no-control-regex": "off",
    },
  },
  {
    // Tests poke at loosely typed Node-RED helper objects and crafted payloads.
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off", "@typescript-eslint/no-non-null-assertion": "off" },
  },
  {
    files: ["scripts/**/*.js", "**/*.cjs"],
    languageOptions: {
      sourceType: "commonjs",
      globals: { require: "readonly", module: "writable", __dirname: "readonly", process: "readonly", console: "readonly" },
    },
  },
  prettier,
);
