import { defineConfig } from "vite";

// Built into dist/ and served by the api service at /; `npm run dev` proxies the API to it.
export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 800 },
  server: { proxy: { "/api": "http://127.0.0.1:8000" } },
});
