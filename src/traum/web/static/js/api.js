// Talking to the server: JSON in and out, one error line per failure.

// The server moves ?token= into an HttpOnly cookie with a redirect; should a token still be in the
// address (a proxy that dropped the redirect), keep it out of history and bookmarks anyway.
if (new URLSearchParams(location.search).has("token")) {
  const clean = new URL(location.href);
  clean.searchParams.delete("token");
  history.replaceState(null, "", clean.pathname + clean.search + clean.hash);
}

export async function api(path, options) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

export function post(path, body, method = "POST") {
  return api(path, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

export const audioUrl = (id) => `/api/audio/${id}`;
