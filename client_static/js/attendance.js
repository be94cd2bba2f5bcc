// Watch-time counting for a `/viewer` socket: heartbeats while connected, and the tab's
// visibility, since time spent in a hidden tab is not watch time (see docs/privacy.md).
import { config } from './common.js';

/**
 * Emit `heartbeat` every `heartbeatSeconds` while the socket is connected and the page is
 * shown, and `visibility` {visible} whenever the page is hidden or shown again (and on
 * connect while hidden, as a new connection starts out visible). Returns a stop function.
 */
export function trackAttendance(socket, { heartbeatSeconds = config.heartbeat_seconds || 20 } = {}) {
  let timer = null;
  const beat = () => {
    if (socket.connected && !document.hidden) socket.emit('heartbeat', {});
  };
  const onConnect = () => {
    clearInterval(timer);
    timer = setInterval(beat, heartbeatSeconds * 1000);
    if (document.hidden) socket.emit('visibility', { visible: false });
  };
  const onDisconnect = () => {
    clearInterval(timer);
    timer = null;
  };
  const onVisibility = () => {
    if (socket.connected) socket.emit('visibility', { visible: !document.hidden });
  };

  socket.on('connect', onConnect);
  socket.on('disconnect', onDisconnect);
  document.addEventListener('visibilitychange', onVisibility);
  if (socket.connected) onConnect();

  return function stop() {
    onDisconnect();
    socket.off('connect', onConnect);
    socket.off('disconnect', onDisconnect);
    document.removeEventListener('visibilitychange', onVisibility);
  };
}
