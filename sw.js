// Offline support: serves Osteon's own files from a versioned cache when the network is
// unavailable (conference demos). Network first, so an online visit always gets the
// current build; only the page's own origin is ever fetched.
const CACHE = 'osteon-v3';
const ASSETS = [
  './',
  './index.html',
  './www/style.css',
  './www/app.js',
  './www/worker.js',
  './www/mpr_view.js',
  './www/edit_tools.js',
  './www/mesh_tools.js',
  './www/print_tools.js',
  './www/print_view.js',
  './www/files.js',
  './www/pkg/osteon.js',
  './www/pkg/osteon_bg.wasm',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((c) => c.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true })
        .then((hit) => hit || Response.error())),
  );
});
