// Package chrome is a minimal Chrome DevTools Protocol client for
// end-to-end tests: it starts headless Chromium with fake camera and
// microphone, opens pages over flattened target sessions on the browser's
// one WebSocket, evaluates JavaScript (awaiting promises, returning values
// as JSON) and forwards each page's console output and exceptions to the
// test log. It implements only what the tests use; see
// https://chromedevtools.github.io/devtools-protocol/ for the methods.
package chrome
