// Package console is cairn's web console: pages and a JSON API over the
// typed reports of the assurance layer, served by "cairn daemon --listen"
// and "cairn serve". Every page and API call needs authentication (a
// token, given by header or exchanged for a session cookie at /login);
// state-changing requests carry the session's CSRF token; failed logins
// are rate-limited; no password or S3 secret ever reaches the browser.
// The assets are embedded: the pages need no outside network.
package console
