// careloop app's service worker: shows Web Push notifications (the payload was decrypted by
// the browser: tier, a short title and text, never a resident's name) and opens the app on
// a tap. The app shell is cached so the installed app opens without a network; data is
// always fetched live.
"use strict";

const SHELL = "careloop-app-v2";
const FILES = ["/app/", "/static/common.js", "/static/app.js", "/static/app.css", "/app/icon-192.png"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !FILES.includes(url.pathname)) {
    return; // the API and everything else: straight to the network
  }
  event.respondWith(fetch(event.request).catch(() => caches.match(event.request)));
});

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  const options = {
    body: data.body || "",
    tag: data.alert || "careloop",
    renotify: true,
    requireInteraction: data.tier === "emergency",
    icon: "/app/icon-192.png",
    data: { url: data.url || "/app/" },
  };
  event.waitUntil(self.registration.showNotification(data.title || "careloop", options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/app/";
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const w of windows) {
        if (new URL(w.url).pathname.startsWith("/app")) return w.focus().then(() => w.navigate(url));
      }
      return self.clients.openWindow(url);
    }),
  );
});
