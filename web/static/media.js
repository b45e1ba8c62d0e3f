// Local capture. A room page joins with microphone and camera; a machine
// without a camera (or with one that is busy or refused) joins with audio
// only, and one without any microphone joins to listen.

const videoConstraints = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

/**
 * getUserMedia constraints for a device choice {mic, cam}: a device id, ''
 * for the default device, or cam 'off' for no camera.
 */
export function constraintsFor(choice = {}) {
  const audio = choice.mic ? { deviceId: { exact: choice.mic } } : true;
  let video = videoConstraints;
  if (choice.cam === 'off') video = false;
  else if (choice.cam) video = { ...videoConstraints, deviceId: { exact: choice.cam } };
  return { audio, video };
}

/**
 * Returns {stream, warning}: stream holds whatever could be captured (maybe
 * nothing) with the chosen devices; warning explains what is missing, or is
 * empty.
 */
export async function captureLocal(choice = {}) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return { stream: new MediaStream(), warning: 'This page cannot use your microphone or camera (it needs HTTPS). You can listen and watch.' };
  }
  const wanted = constraintsFor(choice);
  let first;
  try {
    return { stream: await navigator.mediaDevices.getUserMedia(wanted), warning: '' };
  } catch (err) {
    first = err;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: wanted.audio });
    const warn = !wanted.video || first.name === 'NotFoundError' ? '' : `Camera unavailable (${first.name}); joined with audio only.`;
    return { stream, warning: warn };
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
