// Entry of the JsSIP bundle: static/vendor/jssip.js is this module with
// JsSIP and its dependencies inlined, as an ES module whose default export
// is JsSIP. Rebuild with `make web`.
import JsSIP from 'jssip';

export default JsSIP;
