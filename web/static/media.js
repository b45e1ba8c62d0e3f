// Local capture. A room page joins with microphone and camera; a machine
// without a camera (or with one that is busy or refused) joins with audio
// only, and one without any microphone joins to listen.

const videoConstraints = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

/**
 * Returns {stream, warning}: stream holds whatever could be captured (maybe
 * nothing); warning explains what is missing, or is empty.
 */
export async function captureLocal() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return { stream: new MediaStream(), warning: 'This page cannot use your microphone or camera (it needs HTTPS). You can listen and watch.' };
  }
  let first;
  try {
    return { stream: await navigator.mediaDevices.getUserMedia({ audio: true, video: videoConstraints }), warning: '' };
  } catch (err) {
    first = err;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    return { stream, warning: first.name === 'NotFoundError' ? '' : `Camera unavailable (${first.name}); joined with audio only.` };
  } catch (err) {
    return { stream: new MediaStream(), warning: `Microphone unavailable (${err.name}); you can listen and watch.` };
  }
}

/** Maps the server's ice_servers (pion's JSON) to RTCIceServer objects. */
export function iceServers(list) {
  if (!Array.isArray(list)) return [];
  return list.map((s) => {
    const out = { urls: s.urls };
    if (s.username) out.username = s.username;
    if (typeof s.credential === 'string' && s.credential) out.credential = s.credential;
    return out;
  }).filter((s) => s.urls && s.urls.length);
}
