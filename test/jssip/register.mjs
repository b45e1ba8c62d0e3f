// JsSIP 3.13.8 in Node (the npm package of web/, with the `ws` package as
// its WebSocket) against a gateway: register, ask OPTIONS, wait for the
// test to say "go" on stdin, unregister. Every step is printed as one JSON
// line on stdout for test/jssip_node_test.go.
//
// Environment: SIP_WS_URL (ws:// or wss://, certificate not checked),
// SIP_DOMAIN, SIP_USER, SIP_PASSWORD, SIP_ORIGIN (the Origin header; none
// when empty).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const web = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'package.json');
const require = createRequire(web);
const JsSIP = require('jssip');
const WS = require('ws');

const env = process.env;
globalThis.WebSocket = class extends WS {
  constructor(url, protocols) {
    const opts = { rejectUnauthorized: false };
    if (env.SIP_ORIGIN) opts.origin = env.SIP_ORIGIN;
    super(url, protocols, opts);
  }
};

const say = (event, fields = {}) => console.log(JSON.stringify({ event, ...fields }));
const fail = (why) => { say('error', { why }); process.exit(1); };
setTimeout(() => fail('timeout'), 20000).unref();

JsSIP.debug.disable();
const ua = new JsSIP.UA({
  sockets: [new JsSIP.WebSocketInterface(env.SIP_WS_URL)],
  uri: `sip:${env.SIP_USER}@${env.SIP_DOMAIN}`,
  authorization_user: env.SIP_USER,
  password: env.SIP_PASSWORD,
  register: true,
  register_expires: 300,
  user_agent: `JsSIP ${JsSIP.version} (node)`,
});
ua.on('connected', () => say('connected'));
ua.on('registrationFailed', (e) => {
  say('registrationFailed', { status: e.response ? e.response.status_code : 0, cause: e.cause });
  ua.stop();
  setTimeout(() => process.exit(0), 200);
});
ua.on('unregistered', () => {
  say('unregistered');
  ua.stop();
  setTimeout(() => process.exit(0), 200);
});
ua.on('registered', (e) => {
  const contact = e.response.getHeader('Contact') || '';
  say('registered', { status: e.response.status_code, contact });
  ua.sendOptions(`sip:${env.SIP_DOMAIN}`, null, {
    eventHandlers: {
      succeeded: (r) => {
        say('options', { status: r.response.status_code, allow: r.response.getHeader('Allow') || '' });
        const rl = createInterface({ input: process.stdin });
        rl.on('line', (line) => {
          if (line.trim() === 'go') {
            rl.close();
            ua.unregister();
          }
        });
      },
      failed: (r) => fail(`OPTIONS failed: ${r.cause}`),
    },
  });
});
ua.start();
