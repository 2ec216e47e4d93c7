// Builds the console: one small Preact app per page (widget, agent console, supervisor view), sharing
// the API and socket client in web/src/, into web/dist/ that the server serves.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const page = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: page('./'),
  base: '/',
  publicDir: page('./public'),
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: page('./dist'),
    emptyOutDir: true,
    target: 'es2020',
    reportCompressedSize: false,
    rollupOptions: {
      input: { index: page('./index.html'), chat: page('./chat/index.html'), agent: page('./agent/index.html'), admin: page('./admin/index.html') },
    },
  },
});
