import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { BrowserRouter } from 'react-router'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { App } from './App'
import { ApiError } from './lib/api'
import { getLang } from './lib/i18n'
import { registerServiceWorker } from './pwa'
import './styles.css'

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // 'always': offline, the request still goes out and the service worker answers from its cache.
      networkMode: 'always',
      staleTime: 10_000,
      refetchOnWindowFocus: false,
      retry: (n, err) => n < 2 && err instanceof ApiError && (err.code === 'UNAVAILABLE' || err.code === 'INTERNAL'),
    },
    mutations: { networkMode: 'always', retry: false },
  },
})

document.documentElement.lang = getLang()
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
)
registerServiceWorker()
