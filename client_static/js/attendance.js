// Tells the server the viewer is still watching (heartbeats) and when the tab is hidden,
// so watch time counts only time the page was open and visible.
import { config } from './common.js';

/** Start reporting on `socket`; returns a function that stops it. */
export function trackAttendance(socket, { heartbeatSeconds = config.heartbeat_seconds || 20 } = {}) {
  const beat = () => { if (socket.connected) socket.emit('heartbeat', {}); };
  const timer = setInterval(beat, heartbeatSeconds * 1000);
  const onVisibility = () => {
    if (socket.connected) socket.emit('visibility', { visible: document.visibilityState === 'visible' });
  };
  document.addEventListener('visibilitychange', onVisibility);
  return () => {
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisibility);
  };
}
