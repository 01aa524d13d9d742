/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'
import { VitePWA } from 'vite-plugin-pwa'

// Bundles: vendor groups for react,
// router + query, forms and the remaining utilities; the tenant area, the admin
// area and the chart are lazy chunks of their own. Rolldown's codeSplitting
// groups with priorities (web-toolchain.md pitfall 1): a higher priority wins
// when a module matches two groups, so uplot (the chart) never lands in the
// initial vendor chunk.
export default defineConfig({
  plugins: [
    react(),
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src',
      filename: 'sw.ts',
      registerType: 'autoUpdate',
      injectRegister: false, // src/pwa.ts registers it with workbox-window and shows the "new version" prompt
      includeManifestIcons: false,
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,svg,png,ico,woff2,webmanifest}'],
      },
      manifest: {
        name: 'WuzAPI Manager',
        short_name: 'WuzAPI',
        description: 'Campanhas de WhatsApp pelas suas instâncias WuzAPI',
        lang: 'pt-BR',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#ffffff',
        theme_color: '#0f766e',
        icons: [
          { src: '/icons/icon.svg', sizes: 'any', type: 'image/svg+xml' },
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
    }),
  ],
  build: {
    manifest: true,
    target: 'es2022',
    chunkSizeWarningLimit: 500,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: 'vendor-react', test: /node_modules[\\/](react|react-dom|scheduler)[\\/]/, priority: 40 },
            { name: 'vendor-charts', test: /node_modules[\\/]uplot[\\/]/, priority: 35 },
            { name: 'vendor-router-query', test: /node_modules[\\/](react-router|@tanstack|cookie|set-cookie-parser)[\\/]/, priority: 30 },
            { name: 'vendor-forms', test: /node_modules[\\/](react-hook-form|@hookform|zod)[\\/]/, priority: 30 },
            { name: 'vendor-utils', test: /node_modules[\\/]/, priority: 10 },
          ],
        },
      },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}', 'scripts/**/*.test.mjs'],
  },
})
