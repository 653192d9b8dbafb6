// ESLint flat config: typescript-eslint's strictest type-checked rules over the
// sources, tests and benchmarks.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    // test/package/fixtures: scenarios written against the packed package, checked there.
    ignores: [
      "node_modules",
      "dist",
      "odpsim-out",
      "web/dist",
      "docs/api",
      "coverage",
      "test/package/fixtures",
      "test-output",
      "fuzz/out",
      "scratch",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-unnecessary-condition": [
        "error",
        { allowConstantLoopConditions: true },
      ],
      "require-yield": "off",
    },
  },
  {
    // A generator function created inside another function gets a fresh hidden class
    // and prototype the first time it is called. V8 keeps hidden classes in the old
    // generation, so every young object the new closure reaches survives scavenges until
    // the next full GC: with one such closure per run, whole runs were promoted and the
    // explorer spent its time in GC. Thread bodies and ops are module-level generator
    // functions (or class methods), wrapped in arrow functions where they need state.
    files: ["src/**/*.ts"],
    ignores: ["src/web/**"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector:
            ":function FunctionDeclaration[generator=true], " +
            ":function :not(MethodDefinition) > FunctionExpression[generator=true]",
          message:
            "No generator function inside a function: make it module-level and wrap it " +
            "in an arrow (see eslint.config.js for why).",
        },
      ],
    },
  },
  {
    // node:test's test() returns a promise the runner itself awaits.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-floating-promises": "off" },
  },
  { files: ["**/*.js"], extends: [tseslint.configs.disableTypeChecked] },
);
