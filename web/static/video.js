// Video in the room page: the codec the room wants (H.264 constrained
// baseline in a room with a room system, so that nothing is transcoded),
// and the sources the server is told with each "pub" offer (camera or
// screen, sfu/protocol.go).

/** The H.264 format every browser and room system shares. */
const baselineProfile = '42e01f';

/**
 * Orders the browser's video codecs with H.264 constrained baseline,
 * packetization-mode 1 first, then other H.264 formats in mode 1, then the
 * rest, for RTCRtpTransceiver.setCodecPreferences.
 */
export function h264First(codecs) {
  const rank = (c) => {
    if (c.mimeType.toLowerCase() !== 'video/h264') return 3;
    const fmtp = (c.sdpFmtpLine || '').toLowerCase();
    if (!fmtp.includes('packetization-mode=1')) return 2;
    return fmtp.includes(`profile-level-id=${baselineProfile}`) ? 0 : 1;
  };
  return [...codecs].sort((a, b) => rank(a) - rank(b));
}

/**
 * Prefers H.264 on a video transceiver; a browser without
 * setCodecPreferences keeps its own order (the server's answer still puts
 * H.264 first).
 */
export function preferH264(transceiver) {
  if (!transceiver.setCodecPreferences || !window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) return;
  const caps = RTCRtpReceiver.getCapabilities('video');
  if (!caps) return;
  try {
    transceiver.setCodecPreferences(h264First(caps.codecs));
  } catch (err) {
    console.warn('setCodecPreferences:', err.message);
  }
}

/** Whether the room asks for H.264 (the joined or video_codec message). */
export function wantsH264(codec) {
  return typeof codec === 'string' && codec.toLowerCase() === 'video/h264';
}

/** Captures the screen (or a window); null when the user declines. */
export async function captureScreen() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) {
    throw new Error('this browser cannot share its screen');
  }
  try {
    return await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
  } catch (err) {
    if (err.name === 'NotAllowedError' || err.name === 'AbortError') return null;
    throw err;
  }
}

/** The source ("camera", "screen") of a remote track from its publisher's record. */
export function sourceOf(participant, trackID) {
  const t = participant && (participant.tracks || []).find((x) => x.id === trackID);
  return (t && t.source) || 'camera';
}
