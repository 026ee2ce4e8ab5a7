// Preact's JSX through esbuild (no Babel preset): the whole toolchain is vite and preact.
import { defineConfig } from "vite";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { target: "es2020", outDir: "dist", emptyOutDir: true, sourcemap: false, modulePreload: { polyfill: false } },
  server: { proxy: { "/v1": "http://127.0.0.1:8080" } },
});
